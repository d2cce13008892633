/**
 * `serverless invoke local` loads a function's bundle with require(), as the Serverless CLI's
 * Node.js runner does: a bundle whose module graph has a top-level await cannot be loaded that
 * way (ERR_REQUIRE_ASYNC_MODULE). One HTTP function that reads MongoDB, invoked with its sample
 * event against this file's database, answers as it does behind serverless-offline. Like a warm
 * container, the function keeps its MongoDB and Redis clients open after answering, so the CLI
 * does not exit on its own: the test reads the printed answer, then stops the CLI by its PID.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { testEndpoints } from '../support/endpoints.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('serverless invoke local', () => {
  it('runs an HTTP function with its sample event (GET /playbooks of events/)', async () => {
    const ep = testEndpoints();
    const cli = spawn(
      process.execPath,
      [
        path.join(ROOT, 'node_modules', 'serverless', 'bin', 'serverless.js'),
        'invoke',
        'local',
        '-f',
        'playbooks',
        '--path',
        'events/playbooks.list.json',
        '--stage',
        'local',
      ],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          MONGO_URI: ep.mongoUri,
          REDIS_URL: ep.redisUrl,
          SQS_ENDPOINT: ep.sqsEndpoint,
          DYNAMODB_ENDPOINT: ep.dynamodbEndpoint,
          POWERTOOLS_LOG_LEVEL: 'ERROR',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let text = '';
    const answer = await new Promise<{ statusCode: number; body: string }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer printed:\n${text.slice(-3000)}`)), 120_000);
      const read = (chunk: Buffer) => {
        text += chunk.toString();
        // The CLI prints the answer as indented JSON: `{` at a line start to the `}` closing it.
        const match = /^\{\n[\s\S]*?^\}$/m.exec(text.slice(text.indexOf('"statusCode"') - 200));
        if (text.includes('"statusCode"') && match) {
          clearTimeout(timer);
          resolve(JSON.parse(match[0]) as { statusCode: number; body: string });
        }
      };
      cli.stdout.on('data', read);
      cli.stderr.on('data', read);
      cli.once('exit', (code) => {
        clearTimeout(timer);
        if (!text.includes('"statusCode"')) reject(new Error(`exited ${code}:\n${text.slice(-3000)}`));
      });
    }).finally(() => {
      if (cli.exitCode === null && cli.pid !== undefined) process.kill(cli.pid, 'SIGTERM');
    });
    expect(answer.statusCode, text.slice(-3000)).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ items: [], next: null });
  }, 150_000);
});
