// The authentication methods, by name: every gate (WAMP HELLO, MQTT CONNECT, HTTP Basic) goes through
// this table, so adding a method is one file here and one line below.
import type { AuthMethod } from '../types.ts';
import { anonymous } from './anonymous.ts';
import { cryptosign } from './cryptosign.ts';
import { ticket } from './ticket.ts';
import { tls } from './tls.ts';
import { wampcra } from './wampcra.ts';

export const authMethods: ReadonlyMap<string, AuthMethod> = new Map([anonymous, ticket, wampcra, cryptosign, tls].map((m) => [m.name, m]));
