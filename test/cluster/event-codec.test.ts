// The wire form of a publication between nodes: everything a delivery needs survives the trip
// exactly, a node recognises its own messages without decoding them, and what another version or a
// corruption could produce is refused with a reason.
import test from 'ava';
import { Payload } from '../../lib/core/payload.ts';
import { packRecord } from '../../lib/core/codec.ts';
import type { Publication } from '../../lib/core/types.ts';
import { decodeEvent, encodeEvent, senderPrefix, sentBy } from '../../lib/store/cluster-event.ts';

function publication(payload: Payload, extra: Partial<Publication> = {}): Publication {
  return { id: 42, topic: ['home', 'kitchen', 'temp'], payload, qos: 0, retain: false, frames: new Map(), ...extra };
}

test('bytes, args/kwargs, headers, publisher, retain, qos and the audience options round-trip exactly', (t) => {
  const bytes = new Uint8Array([0, 255, 128, 10]);
  const headers = { contentType: 'application/x', payloadFormat: 0 as const, responseTopic: 'r/t', correlationData: new Uint8Array([9, 8]), userProperties: { a: 'b', c: ['d', 'e'] }, expiresAt: 1_900_000_000_000 };
  const publisher = { session: 7, authid: 'alice', authrole: 'user', protocol: 'mqtt' as const };
  const options = { excludeMe: false, exclude: [1, 2], excludeAuthid: ['bob'], excludeAuthrole: ['guest'], eligible: [3], eligibleAuthid: ['alice'], eligibleAuthrole: ['user'] };
  const d = decodeEvent(encodeEvent('nA', 5, publication(Payload.fromBytes(bytes), { qos: 1, retain: true, headers, publisher, publisherSession: 7 }), options));
  t.is(d.node, 'nA');
  t.is(d.seq, 5);
  t.true(d.publication.payload.isBytes);
  t.deepEqual(new Uint8Array(d.publication.payload.bytes), bytes);
  t.like(d.publication, { id: 42, topic: ['home', 'kitchen', 'temp'], qos: 1, retain: true, publisherSession: 7, publisher });
  const h = d.publication.headers!;
  t.deepEqual({ ...h, correlationData: new Uint8Array(h.correlationData!) }, headers);
  t.deepEqual(d.options, options);

  const big = 2n ** 60n;
  const args = Payload.fromArgs([1, 'two', { three: [3] }, new Uint8Array([1]), big], { k: null });
  const w = decodeEvent(encodeEvent('nA', 6, publication(args), {}));
  t.false(w.publication.payload.isBytes);
  const got = w.publication.payload.args!;
  t.deepEqual(got.slice(0, 3), [1, 'two', { three: [3] }]);
  t.deepEqual(new Uint8Array(got[3] as Uint8Array), new Uint8Array([1]), 'binary stays binary');
  t.is(got[4], big, 'a 64-bit integer stays exact');
  t.deepEqual(w.publication.payload.kwargs, { k: null });
  t.deepEqual(w.options, {}, 'no audience options: none sent');
  t.is(w.publication.publisher, undefined);
  t.false(w.publication.retain);
});

test('a node recognises its own messages by their first bytes, and only its own', (t) => {
  const own = encodeEvent('nself01', 1, publication(Payload.fromArgs(['x'])), { exclude: [1] });
  t.true(sentBy(own, senderPrefix('nself01')));
  t.false(sentBy(own, senderPrefix('nself02')));
  t.false(sentBy(own, senderPrefix('nself0')));
  t.false(sentBy(new Uint8Array([1, 2, 3]), senderPrefix('nself01')));
});

test('what another version or a corruption produces is refused with a reason', (t) => {
  const good = { v: 1, n: 'nA', s: 1, i: 1, t: ['a'], a: [1] };
  const bad: [string, unknown, RegExp][] = [
    ['another version', { ...good, v: 2 }, /version 2/],
    ['not a map', [1, 2], /not a map/],
    ['no node', { ...good, n: '' }, /node/],
    ['sequence 0', { ...good, s: 0 }, /sequence/],
    ['empty topic', { ...good, t: [] }, /topic/],
    ['topic of numbers', { ...good, t: [1] }, /topic/],
    ['bytes that are not bytes', { ...good, a: undefined, b: 'text' }, /payload/],
    ['qos 3', { ...good, q: 3 }, /qos/],
    ['bad publisher', { ...good, p: { session: 'x' } }, /publisher/],
    ['bad exclude list', { ...good, o: { x: ['a'] } }, /exclude/],
    ['bad correlation data', { ...good, h: { correlationData: 'x' } }, /correlation/],
  ];
  for (const [what, record, reason] of bad) t.throws(() => decodeEvent(packRecord(record as object)), { message: reason }, what);
  t.throws(() => decodeEvent(new Uint8Array([0xc1])), undefined, 'bytes that are not MessagePack');
  t.throws(() => decodeEvent(new Uint8Array([0xdd, 0xff, 0xff, 0xff, 0xff])), undefined, 'an array claiming 4G items');
});
