// PUBLISH: route through the broker; PUBLISHED only if acknowledged, once the publication is routed.
import { ErrorUri } from '../../core/errors.ts';
import { publishOptions } from '../../core/options.ts';
import type { Conn } from '../conn.ts';
import { argsPayload } from './args.ts';
import { MessageType } from '../message-types.ts';
import { uriLevels } from './uri.ts';
import * as v from '../validate.ts';

export function handlePublish(c: Conn, msg: unknown[]): void {
  v.length(msg, 4, 6, 'PUBLISH');
  const request = v.requestId(msg, 1);
  const options = v.dict(msg, 2, 'PUBLISH.Options');
  const topic = v.uri(msg, 3, 'PUBLISH.Topic');
  const payload = argsPayload(msg, 4);
  const session = c.session!;
  let opts;
  try {
    opts = publishOptions(options);
    opts.qos = opts.acknowledge ? 2 : 0;
    if (opts.acknowledge) {
      session
        .publish(uriLevels(session, topic), payload, opts)
        .then(
          (publication) => c.send([MessageType.PUBLISHED, request, publication]),
          (err: unknown) => c.sendError(MessageType.PUBLISH, request, err),
        )
        // answering failed (a bug): end this session, never leave a rejection unhandled
        .catch((err: unknown) => {
          c.ctx.logger.error({ err, topic }, 'answering an acknowledged publish failed');
          c.abort(ErrorUri.protocolViolation, 'internal error answering the publish');
        });
    } else {
      // The common case: no promise per publication unless it waits for a commit.
      const outcome = session.publishNow(uriLevels(session, topic), payload, opts);
      if (typeof outcome !== 'number') outcome.catch((err: unknown) => c.ctx.logger.debug({ err, topic }, 'unacknowledged publish refused'));
    }
  } catch (err) {
    if (options.acknowledge === true) c.sendError(MessageType.PUBLISH, request, err);
    else c.ctx.logger.debug({ err, topic }, 'unacknowledged publish refused');
  }
}
