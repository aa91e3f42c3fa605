// The plain JSON-like object. Its own leaf so payload.ts and json-exact.ts need not import types.ts
// (which imports payload.ts): no import cycle.
export type Dict = Record<string, unknown>;
