// Emulator jars (one Maven call, cached) and the compiled Mongo launcher.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CACHE_DIR, CLASSES_DIR, EMULATORS_DIR, JARS_DIR, LAUNCHER_SRC_DIR, POM, StackError } from './config.mjs';
import { ensureDebianBinary, mkdirp } from './proc.mjs';

/** @param {string[]} files */
function hashFiles(files) {
  const h = createHash('sha256');
  for (const f of files) h.update(fs.readFileSync(f));
  return h.digest('hex').slice(0, 16);
}

/** @param {(m: string) => void} log */
export function ensureJars(log) {
  const stamp = path.join(JARS_DIR, '.pom-hash');
  const want = hashFiles([POM]);
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8').trim() === want) return false;
  ensureDebianBinary('java', 'default-jdk-headless', log);
  ensureDebianBinary('mvn', 'maven', log);
  log('fetching emulator jars with Maven (one time; cached in .cache/emulators/jars) ...');
  mkdirp(CACHE_DIR);
  const tmp = path.join(CACHE_DIR, `jars.tmp-${process.pid}`);
  fs.rmSync(tmp, { recursive: true, force: true });
  const r = spawnSync('mvn', ['-q', '-B', '-f', POM, 'dependency:copy-dependencies', `-DoutputDirectory=${tmp}`], {
    cwd: EMULATORS_DIR,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) {
    fs.rmSync(tmp, { recursive: true, force: true });
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`;
    throw new StackError(
      `Maven could not fetch the emulator jars (mvn exit ${r.status}):\n${out.split('\n').slice(-30).join('\n')}`,
    );
  }
  fs.writeFileSync(path.join(tmp, '.pom-hash'), `${want}\n`);
  fs.rmSync(JARS_DIR, { recursive: true, force: true });
  fs.renameSync(tmp, JARS_DIR);
  fs.rmSync(CLASSES_DIR, { recursive: true, force: true }); // recompile against the new jars
  return true;
}

/** Every .java file under tools/emulators/src, sorted (stable hash). @returns {string[]} */
function launcherSources() {
  return fs
    .readdirSync(LAUNCHER_SRC_DIR, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.java'))
    .map((f) => path.join(LAUNCHER_SRC_DIR, f))
    .sort();
}

/** @param {(m: string) => void} log */
export function ensureLauncher(log) {
  const stamp = path.join(CLASSES_DIR, '.src-hash');
  const sources = launcherSources();
  const want = hashFiles([...sources, path.join(JARS_DIR, '.pom-hash')]);
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8').trim() === want) return;
  ensureDebianBinary('javac', 'default-jdk-headless', log);
  log('compiling MongoLauncher ...');
  const tmp = path.join(CACHE_DIR, `classes.tmp-${process.pid}`);
  fs.rmSync(tmp, { recursive: true, force: true });
  const r = spawnSync('javac', ['-nowarn', '-d', tmp, '-cp', path.join(JARS_DIR, '*'), ...sources], {
    encoding: 'utf8',
  });
  if (r.status !== 0) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw new StackError(`javac failed for ${LAUNCHER_SRC_DIR}:\n${r.stdout}${r.stderr}`, { server: 'mongo' });
  }
  fs.writeFileSync(path.join(tmp, '.src-hash'), `${want}\n`);
  fs.rmSync(CLASSES_DIR, { recursive: true, force: true });
  fs.renameSync(tmp, CLASSES_DIR);
}
