// URIs from WAMP messages, parsed under the realm's configured size limits (Limits.maxTopicLevels /
// maxTopicLength): over them is wamp.error.invalid_uri, counted as a limit refusal.
import type { Session } from '../../core/session.ts';
import { TopicSizeError, wampLevels, wampPattern } from '../../core/topic.ts';
import type { MatchPolicy, Pattern } from '../../core/types.ts';

function counted(session: Session, err: unknown): unknown {
  if (err instanceof TopicSizeError) session.realm.stats.limitRefusals++;
  return err;
}

/** Levels of a concrete topic or procedure URI. */
export function uriLevels(session: Session, uri: string): string[] {
  try {
    return wampLevels(uri, session.realm.limits);
  } catch (err) {
    throw counted(session, err);
  }
}

/** A subscription or registration URI with its match policy. */
export function uriPattern(session: Session, uri: string, match: MatchPolicy | undefined): Pattern {
  try {
    return wampPattern(uri, match, session.realm.limits);
  } catch (err) {
    throw counted(session, err);
  }
}
