// Prisma's CLI config for sqlpod/compat/prisma.test.ts. Migrate runs the Wasm
// schema engine bundled in the prisma package over @prisma/adapter-pg (engine
// 'js'), so no native engine is downloaded (binaries.prisma.sh is unreachable
// offline). The connection comes from PRISMA_PG (a node-postgres config as
// JSON), the migrations folder from PRISMA_MIGRATIONS; the test sets both.
import { PrismaPg } from '@prisma/adapter-pg';
import type pg from 'pg';
import { defineConfig } from 'prisma/config';

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  migrations: { path: process.env.PRISMA_MIGRATIONS ?? 'migrations' },
  adapter: () => Promise.resolve(new PrismaPg({ ...(JSON.parse(process.env.PRISMA_PG ?? '{}') as pg.PoolConfig), allowExitOnIdle: true })),
});
