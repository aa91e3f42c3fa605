// A set the realm's meta API describes (sessions, subscriptions, registrations), kept live: listed
// once, then followed through the meta events, and listed again now and then to heal anything a
// lost event left behind. Details are fetched for the rows the page shows only.

import { MAX_ROWS } from './tables.js';

/** How often the whole list is read again. */
const RESYNC_MS = 15_000;
/** Counts (subscribers, callees) are asked again this long after a change, once per burst. */
const RECOUNT_MS = 200;

export class LiveCollection {
  /**
   * `spec`: { list: procedure → args[0] the ids (a list, or a dict of lists by match policy),
   *           get: procedure → args[0] one item's details, count: optional procedure → args[0] a number,
   *           events: { topic: (collection, args) => void } }
   */
  constructor(spec, onChange) {
    this.spec = spec;
    this.onChange = onChange;
    /** id → { details: object | null, count: number | null } */
    this.items = new Map();
    this.live = false;
    this.error = null;
    this.timer = null;
    this.session = null;
    this.added = null;
    this.gone = null;
    this.recounts = null;
    this.recountTimer = null;
  }

  /** Follows the collection on `session`; rejects (and sets `error`) if the role may not. */
  async start(session) {
    this.stop();
    this.session = session;
    this.items.clear();
    this.live = false;
    this.error = null;
    try {
      for (const [topic, apply] of Object.entries(this.spec.events)) {
        await session.subscribe(topic, (args) => {
          if (this.session !== session) return;
          apply(this, args);
          this.onChange();
        });
      }
      await this.resync();
      this.live = true;
      this.timer = setInterval(() => void this.resync().catch(() => {}), RESYNC_MS);
    } catch (err) {
      this.error = err;
    }
    this.onChange();
  }

  stop() {
    clearInterval(this.timer);
    clearTimeout(this.recountTimer);
    this.recountTimer = null;
    this.recounts = null;
    this.timer = null;
    this.session = null;
  }

  /** Reads the list; ids that come or go while it is on its way are kept as the events said. */
  async resync() {
    const session = this.session;
    this.added = new Set();
    this.gone = new Set();
    const [listed] = await session.call(this.spec.list);
    if (this.session !== session) return;
    const ids = new Set(Array.isArray(listed) ? listed : Object.values(listed ?? {}).flat());
    for (const id of this.items.keys()) if (!ids.has(id) && !this.added.has(id)) this.items.delete(id);
    for (const id of ids) if (!this.items.has(id) && !this.gone.has(id)) this.items.set(id, { details: null, count: null });
    this.added = null;
    this.gone = null;
    this.onChange();
    await this.fetchDetails(session);
  }

  async fetchDetails(session) {
    const missing = this.newest().filter(([, item]) => item.details === null || (this.spec.count && item.count === null));
    await Promise.all(
      missing.map(async ([id, item]) => {
        try {
          if (item.details === null) [item.details] = await session.call(this.spec.get, [id]);
          if (this.spec.count && item.count === null) [item.count] = await session.call(this.spec.count, [id]);
        } catch {
          // gone meanwhile (no_such_…): its leave event removes it
        }
      }),
    );
    if (this.session === session) this.onChange();
  }

  // --- what the meta events do ---

  add(id, details) {
    this.added?.add(id);
    this.gone?.delete(id);
    this.items.set(id, { details, count: null });
    if (this.spec.count) this.recount(id);
  }

  remove(id) {
    this.gone?.add(id);
    this.added?.delete(id);
    this.items.delete(id);
  }

  /**
   * Someone joined or left item `id`: its count is asked again (a moment later, once per burst),
   * rather than added up from events, which a page that subscribed mid-way could count twice.
   */
  recount(id) {
    this.recounts ??= new Set();
    this.recounts.add(id);
    if (this.recountTimer) return;
    this.recountTimer = setTimeout(() => {
      const session = this.session;
      const ids = this.recounts;
      this.recounts = null;
      this.recountTimer = null;
      if (!session) return;
      // only rows the page shows
      const shown = new Set(this.newest().map(([i]) => i));
      for (const i of ids) {
        if (!shown.has(i)) continue;
        session.call(this.spec.count, [i]).then(
          ([n]) => {
            const item = this.items.get(i);
            if (item && this.session === session) {
              item.count = n;
              this.onChange();
            }
          },
          () => {},
        );
      }
    }, RECOUNT_MS);
  }

  /** The newest items first, at most MAX_ROWS, with their details (or null while being fetched). */
  newest() {
    return [...this.items].slice(-MAX_ROWS).reverse();
  }
}

export const SESSIONS = {
  list: 'wamp.session.list',
  get: 'wamp.session.get',
  events: {
    'wamp.session.on_join': (c, [details]) => details && c.add(details.session, details),
    'wamp.session.on_leave': (c, [id]) => c.remove(id),
  },
};

export const SUBSCRIPTIONS = {
  list: 'wamp.subscription.list',
  get: 'wamp.subscription.get',
  count: 'wamp.subscription.count_subscribers',
  events: {
    'wamp.subscription.on_create': (c, [, details]) => details && c.add(details.id, details),
    'wamp.subscription.on_subscribe': (c, [, id]) => c.recount(id),
    'wamp.subscription.on_unsubscribe': (c, [, id]) => c.recount(id),
    'wamp.subscription.on_delete': (c, [, id]) => c.remove(id),
  },
};

export const REGISTRATIONS = {
  list: 'wamp.registration.list',
  get: 'wamp.registration.get',
  count: 'wamp.registration.count_callees',
  events: {
    'wamp.registration.on_create': (c, [, details]) => details && c.add(details.id, details),
    'wamp.registration.on_register': (c, [, id]) => c.recount(id),
    'wamp.registration.on_unregister': (c, [, id]) => c.recount(id),
    'wamp.registration.on_delete': (c, [, id]) => c.remove(id),
  },
};
