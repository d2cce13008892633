/** `npm run token -- --tenant acme --sub analyst1`: prints a local token for AUTH_JWT_SECRET. */
import { parseArgs } from 'node:util';
import { mintToken } from './lib/token.js';

const { values } = parseArgs({
  options: {
    tenant: { type: 'string', default: 'acme' },
    sub: { type: 'string', default: 'analyst1' },
    expires: { type: 'string', default: '12h' },
  },
});
const secret = process.env.AUTH_JWT_SECRET ?? 'local-dev-secret';
process.stdout.write(
  `${await mintToken(secret, { tenant: values.tenant ?? 'acme', sub: values.sub ?? 'analyst1', expiresIn: values.expires ?? '12h' })}\n`,
);
