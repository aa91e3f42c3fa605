// The packet handler table: one handler per packet type a client may send.
import { handleAuth } from './auth.ts';
import { handleConnect } from './connect.ts';
import type { HandlerTable } from './connection.ts';
import { handleDisconnect } from './disconnect.ts';
import { handlePingreq } from './pingreq.ts';
import { handlePuback } from './puback.ts';
import { handlePublish } from './publish.ts';
import { handlePubcomp } from './pubcomp.ts';
import { handlePubrec } from './pubrec.ts';
import { handlePubrel } from './pubrel.ts';
import { handleSubscribe } from './subscribe.ts';
import { handleUnsubscribe } from './unsubscribe.ts';

export const handlers: HandlerTable = {
  connect: handleConnect,
  publish: handlePublish,
  puback: handlePuback,
  pubrec: handlePubrec,
  pubrel: handlePubrel,
  pubcomp: handlePubcomp,
  subscribe: handleSubscribe,
  unsubscribe: handleUnsubscribe,
  pingreq: handlePingreq,
  disconnect: handleDisconnect,
  auth: handleAuth,
};
