// Starts a real annalsd on 127.0.0.1:0 for the tests (no mocks) and stops it with SIGTERM.
// The binary comes from $ANNALSD_PATH (CTest sets it), else the repository's build/.
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const REPO = path.resolve(__dirname, '../../../..');
export const ANNALSD = process.env.ANNALSD_PATH ?? path.join(REPO, 'build/service/annalsd');
export const SEED = process.env.ANNALSD_SEED ?? path.join(REPO, 'data/seed');
const SERVING_RE = /^annalsd: serving on 127\.0\.0\.1:(\d+) \(db .*, revision (\d+)\)$/;

export class Server {
  readonly dir: string;
  proc?: ChildProcess;
  port = 0;
  startRevision = 0;
  private stderr = '';

  constructor(private readonly options: { load?: string; port?: number } = {}) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'annals-nodeclient-'));
  }

  get addr(): string {
    return `127.0.0.1:${this.port}`;
  }

  start(timeoutMs = 30_000): Promise<this> {
    const args = ['--listen', `127.0.0.1:${this.options.port ?? 0}`, '--db', path.join(this.dir, 'db')];
    if (this.options.load) args.push('--load', this.options.load);
    // annalsd reads ANNALS_* variables as flags: leave them out.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ANNALS_')));
    const proc = spawn(ANNALSD, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    proc.stderr!.on('data', (d: Buffer) => { this.stderr += d.toString(); });
    return new Promise((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`annalsd did not start: ${this.stderr}`)); }, timeoutMs);
      const onExit = (code: number | null) => { clearTimeout(timer); reject(new Error(`annalsd exited with ${code}: ${this.stderr}`)); };
      proc.once('exit', onExit);
      proc.stdout!.on('data', (d: Buffer) => {
        if (this.port) return;
        out += d.toString();
        const nl = out.indexOf('\n');
        if (nl < 0) return;
        clearTimeout(timer);
        proc.off('exit', onExit);
        const m = SERVING_RE.exec(out.slice(0, nl));
        if (!m) { proc.kill('SIGKILL'); reject(new Error(`unexpected first line: ${out.slice(0, nl)}`)); return; }
        this.port = Number(m[1]);
        this.startRevision = Number(m[2]);
        resolve(this);
      });
    });
  }

  /** SIGTERM; resolves to the problems seen (none when it exited 0 saying "stopped cleanly"). */
  async stop(timeoutMs = 15_000): Promise<string[]> {
    const problems: string[] = [];
    const proc = this.proc;
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      if (code !== 0) problems.push(`annalsd exited with ${code} after SIGTERM: ${this.stderr}`);
      else if (!this.stderr.includes('stopped cleanly')) problems.push(`annalsd did not stop cleanly: ${this.stderr}`);
    } else if (proc) {
      problems.push(`annalsd had already exited (${proc.exitCode}): ${this.stderr}`);
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
    return problems;
  }
}

/** A port nothing listens on (as far as one can tell). */
export async function freePort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}
