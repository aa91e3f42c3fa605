// The msgpackr and cbor-x instances behind the MessagePack and CBOR serializers.
import { Packr } from 'msgpackr';
import { Encoder as CborEncoder } from 'cbor-x';

// Shared options of msgpackr and cbor-x: plain objects for maps, no record/structure extensions (other
// WAMP peers do not speak them), compact map headers (and no 65535-key limit), 64-bit integers decoded
// as Numbers (WAMP ids are at most 2^53), undefined written as nil/null for interop.
const common = {
  useRecords: false,
  mapsAsObjects: true,
  variableMapSize: true,
  bundleStrings: false,
  structuredClone: false,
  largeBigIntToFloat: true,
  encodeUndefinedAsNil: true,
} as const;

export const packr = new Packr({ ...common, int64AsType: 'number', moreTypes: false });

// cbor-x: no `pack` (shared-string packing), no tag on Uint8Array; int64AsNumber is honoured by the decoder
// although its typings omit it.
export const cborx = new CborEncoder({ ...common, pack: false, tagUint8Array: false, int64AsNumber: true } as ConstructorParameters<
  typeof CborEncoder
>[0]);
