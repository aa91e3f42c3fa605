// The Content-Type the original's sub responses carry: esub sets none, so Go's http.DetectContentType
// picks one from the first 512 bytes. This covers the cases that matter to esub clients.
import { isUtf8 } from 'node:buffer';

const SIGNATURES: [number[], string][] = [
  [[0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'image/png'],
  [[0xff, 0xd8, 0xff], 'image/jpeg'],
  [[0x47, 0x49, 0x46, 0x38], 'image/gif'],
  [[0x25, 0x50, 0x44, 0x46, 0x2d], 'application/pdf'],
  [[0x1f, 0x8b, 0x08], 'application/x-gzip'],
  [[0x50, 0x4b, 0x03, 0x04], 'application/zip'],
];

const HTML = ['<!doctype html', '<html', '<head', '<script', '<iframe', '<h1', '<div', '<font', '<table', '<a', '<style', '<title', '<b', '<body', '<br', '<p', '<!--'];

function startsWith(b: Uint8Array, sig: number[]): boolean {
  if (b.length < sig.length) return false;
  for (let i = 0; i < sig.length; i++) if (b[i] !== sig[i]) return false;
  return true;
}

/** Go-style sniffed Content-Type of a body. */
export function sniffContentType(body: Uint8Array): string {
  const head = body.subarray(0, 512);
  for (const [sig, type] of SIGNATURES) if (startsWith(head, sig)) return type;
  let i = 0;
  while (i < head.length && (head[i] === 0x20 || head[i] === 0x09 || head[i] === 0x0a || head[i] === 0x0d || head[i] === 0x0c)) i++;
  if (head[i] === 0x3c) {
    const text = Buffer.from(head.subarray(i, i + 16)).toString('latin1').toLowerCase();
    if (text.startsWith('<?xml')) return 'text/xml; charset=utf-8';
    for (const tag of HTML) {
      if (text.startsWith(tag)) {
        const next = text.charCodeAt(tag.length);
        if (Number.isNaN(next) || next === 0x20 || next === 0x3e) return 'text/html; charset=utf-8';
      }
    }
  }
  for (const b of head) {
    // Go treats these control bytes as binary.
    if (b <= 0x08 || b === 0x0b || (b >= 0x0e && b <= 0x1a) || (b >= 0x1c && b <= 0x1f)) return 'application/octet-stream';
  }
  return 'text/plain; charset=utf-8';
}

/** Whether a body can go out as a WebSocket text message (else it is sent as binary). */
export function isText(body: Uint8Array): boolean {
  return isUtf8(body);
}
