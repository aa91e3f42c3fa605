// SUBSCRIBE / UNSUBSCRIBE.
import { subscribeOptions } from '../../core/options.ts';
import type { Conn } from '../conn.ts';
import { MessageType } from '../message-types.ts';
import { uriPattern } from './uri.ts';
import * as v from '../validate.ts';

export function handleSubscribe(c: Conn, msg: unknown[]): void {
  v.length(msg, 4, 4, 'SUBSCRIBE');
  const request = v.requestId(msg, 1);
  const options = v.dict(msg, 2, 'SUBSCRIBE.Options');
  const topic = v.uri(msg, 3, 'SUBSCRIBE.Topic');
  const session = c.session!;
  try {
    const opts = subscribeOptions(options);
    const sub = session.subscribe(uriPattern(session, topic, opts.match), opts);
    c.send([MessageType.SUBSCRIBED, request, sub.id]);
    if (opts.getRetained) session.realm.deliverRetained(session, sub);
    if (opts.after !== undefined) {
      session.realm.replay(session, sub, opts.after, opts.snapshot === true).catch((err: unknown) => c.ctx.logger.error({ err, topic }, 'history replay failed'));
    }
  } catch (err) {
    c.sendError(MessageType.SUBSCRIBE, request, err);
  }
}

export function handleUnsubscribe(c: Conn, msg: unknown[]): void {
  v.length(msg, 3, 3, 'UNSUBSCRIBE');
  const request = v.requestId(msg, 1);
  const subscription = v.id(msg, 2, 'UNSUBSCRIBE.Subscription');
  try {
    c.session!.unsubscribe(subscription);
    c.send([MessageType.UNSUBSCRIBED, request]);
  } catch (err) {
    c.sendError(MessageType.UNSUBSCRIBE, request, err);
  }
}
