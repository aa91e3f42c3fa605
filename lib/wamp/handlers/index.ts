// The handler table: one function per message type a client may send in an established session.
import type { Handler } from '../conn.ts';
import { MessageType } from '../message-types.ts';
import { handleCall, handleCancel } from './call.ts';
import { handleGoodbye } from './goodbye.ts';
import { handlePublish } from './publish.ts';
import { handleRegister, handleUnregister } from './register.ts';
import { handleSubscribe, handleUnsubscribe } from './subscribe.ts';
import { handleError, handleYield } from './yield.ts';

export { handleHello } from './hello.ts';
export { handleAuthenticate } from './authenticate.ts';

export const establishedHandlers: Record<number, Handler> = {
  [MessageType.GOODBYE]: handleGoodbye,
  [MessageType.ERROR]: handleError,
  [MessageType.PUBLISH]: handlePublish,
  [MessageType.SUBSCRIBE]: handleSubscribe,
  [MessageType.UNSUBSCRIBE]: handleUnsubscribe,
  [MessageType.CALL]: handleCall,
  [MessageType.CANCEL]: handleCancel,
  [MessageType.REGISTER]: handleRegister,
  [MessageType.UNREGISTER]: handleUnregister,
  [MessageType.YIELD]: handleYield,
};
