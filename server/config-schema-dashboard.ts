// The `dashboard` section of the configuration file (server/dashboard.ts serves the page).
import { type Static, Type } from '@sinclair/typebox';
import { Section } from './config-schema-types.ts';

export const DashboardSchema = Section(
  {
    enabled: Type.Optional(Type.Boolean({ description: "Serve the live dashboard at /dashboard (static files; its data follows the realm's permissions).", default: true })),
    realm: Type.Optional(Type.String({ minLength: 1, description: 'Realm the page joins when its URL names none (?realm=NAME); default: the first realm.' })),
  },
  { description: 'The live dashboard page at /dashboard on the shared port.' },
);

export type DashboardConfig = Static<typeof DashboardSchema>;
