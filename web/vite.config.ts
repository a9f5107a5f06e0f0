import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// `npm run dev`: the page is served by Vite, the token/prompt endpoints are proxied to a TokenWire server on
// localhost:8080, and the ably client talks to that server directly (see src/ably.ts).
// `npm run build`: web/dist, which the server copies into its wwwroot and serves at `/`.
const server = 'http://localhost:8080';

export default defineConfig({
  base: '/',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true },
  server: {
    proxy: {
      '/demo': server,
      '/agent': server,
    },
  },
});
