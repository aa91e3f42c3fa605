// Meta routes of hustdb ha, as one deployment with one storage peer serves them (spec §11).
import { reply } from '../http/reply.ts';
import type { RouteTable } from '../http/route-table.ts';
import { HustdbArgs } from './args.ts';
import { FILE_COUNT } from './context.ts';

export function metaRoutes(routes: RouteTable): void {
  routes.add('/version', (ctx) => reply(ctx, 200, 'hustdbha 1.7\n'));
  routes.add('/status.html', (ctx) => reply(ctx, 200, 'ok\n'));
  routes.add('/peer_count', (ctx) => reply(ctx, 200, '1'));
  routes.add('/file_count', (ctx) => {
    new HustdbArgs(ctx).peer();
    reply(ctx, 200, String(FILE_COUNT));
  });
  routes.add('/get_table', (ctx) => {
    const self = ctx.host || 'kitsune';
    reply(ctx, 200, JSON.stringify({ table: [{ item: { key: [0, 1024], val: [self, self] } }] }, null, 4));
  });
  routes.add('/set_table', (ctx) => reply(ctx, 404, 'set_table: tables are managed by the deployment, not through this API\n'));
  routes.add('/sync_alive', (ctx) => reply(ctx, 200, 'ok\n'));
  routes.add('/sync_status', (ctx) => reply(ctx, 200, JSON.stringify({ status: {}, total_status: { processed_items: 0, synced_items: 0 } })));
}
