// Schema building blocks for the configuration: TypeBox gives the JSON Schema and its static type,
// and these helpers keep every schema plain JSON Schema (enum, type lists) rather than anyOf of
// literals, so ajv's errors name the allowed values directly.
import { type TInteger, type TUnsafe, Type } from '@sinclair/typebox';

export interface Doc {
  description?: string;
  default?: unknown;
}

/** One of a fixed set of strings. */
export function OneOf<T extends string>(values: readonly T[], doc: Doc = {}): TUnsafe<T> {
  return Type.Unsafe<T>({ type: 'string', enum: [...values], ...doc });
}

/** An integer in [min, max] (max optional). */
export function Int(min: number, doc: Doc = {}, max?: number): TInteger {
  return Type.Integer({ minimum: min, ...(max === undefined ? {} : { maximum: max }), ...doc });
}

/** A TCP port: 0 picks an ephemeral one. */
export function Port(doc: Doc = {}): TInteger {
  return Int(0, doc, 65535);
}

/** A TCP port, or null for none. */
export function OptionalPort(doc: Doc = {}): TUnsafe<number | null> {
  return Type.Unsafe<number | null>({ type: ['integer', 'null'], minimum: 0, maximum: 65535, ...doc });
}

/** A string or null. */
export function NullableString(doc: Doc = {}): TUnsafe<string | null> {
  return Type.Unsafe<string | null>({ type: ['string', 'null'], ...doc });
}

/** An object that refuses keys it does not list (a typo is an error, not a silently ignored key). */
export const Section: typeof Type.Object = ((properties: Parameters<typeof Type.Object>[0], options?: Parameters<typeof Type.Object>[1]) =>
  Type.Object(properties, { additionalProperties: false, ...options })) as typeof Type.Object;

/** Fails to compile unless A is assignable to B: keeps each schema in step with the interface the code takes. */
export type Assignable<A extends B, B> = A;

/** Fails to compile unless every key of K is in Keys: an option added to a gate or bridge needs its schema entry. */
export type Covers<Keys extends PropertyKey, K extends Keys> = K;
