// The msgpackr and cbor-x instances behind the MessagePack and CBOR serializers.
import { Packr } from 'msgpackr';
import { Encoder as CborEncoder } from 'cbor-x';

// Shared options of msgpackr and cbor-x: plain objects for maps, no record/structure extensions (other
// WAMP peers do not speak them), compact map headers (and no 65535-key limit), undefined written as
// nil/null for interop. 64-bit integers beyond ±2^53 decode as BigInt, exactly (msgpackr's 'auto'; cbor-x
// makes a BigInt of every 8-byte integer and sanitizeDecoded turns the small ones back into Numbers).
const common = {
  useRecords: false,
  mapsAsObjects: true,
  variableMapSize: true,
  bundleStrings: false,
  structuredClone: false,
  largeBigIntToFloat: true,
  encodeUndefinedAsNil: true,
} as const;

// 'auto' is in msgpackr's README and code but not in its typings.
export const packr = new Packr({ ...common, int64AsType: 'auto' as unknown as 'bigint', moreTypes: false });

// cbor-x: no `pack` (shared-string packing), no tag on Uint8Array.
export const cborx = new CborEncoder({ ...common, pack: false, tagUint8Array: false });
