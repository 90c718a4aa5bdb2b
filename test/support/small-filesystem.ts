import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, statfsSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A real, size-limited file system (a tmpfs) mounted for a test: a full disk is the kernel
 * answering ENOSPC, as it does in production, not an injected error.
 */
export interface SmallFilesystem {
  /** Where it is mounted: give it to a store or an app as its data directory. */
  readonly dir: string;
  /** Bytes free for files right now. */
  available(): number;
  /**
   * Writes a filler file until no more than `leaveBytes` are free (default 0: the disk is full,
   * the next write that needs a new block fails with ENOSPC). Returns the bytes it took.
   */
  fill(leaveBytes?: number): number;
  /** Removes the filler: the space returns. */
  free(): void;
  /** Unmounts it (lazily if a process still has files open there) and removes the mount point. */
  unmount(): void;
}

/**
 * Mounts a tmpfs of `sizeMiB` under the temp directory where this process may mount (Linux, as
 * root with CAP_SYS_ADMIN, as on esflow's CI machines). Elsewhere it mounts nothing and says
 * why, so a suite can declare that it did not run instead of passing silently.
 */
export function mountSmallFilesystem(
  sizeMiB: number,
): { readonly filesystem: SmallFilesystem } | { readonly unavailable: string } {
  if (process.platform !== 'linux')
    return { unavailable: `tmpfs needs Linux, not ${process.platform}` };
  if (process.getuid?.() !== 0) return { unavailable: 'mounting a tmpfs needs root' };
  const dir = mkdtempSync(join(tmpdir(), 'esflow-small-fs-'));
  const mounted = spawnSync(
    'mount',
    ['-t', 'tmpfs', '-o', `size=${sizeMiB}m,mode=0700`, 'esflow-test-tmpfs', dir],
    { encoding: 'utf8', timeout: 10_000 },
  );
  if (mounted.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    return {
      unavailable: `mount -t tmpfs failed: ${(mounted.stderr || String(mounted.error)).trim()}`,
    };
  }
  const filler = join(dir, 'filler');
  const available = () => {
    const stats = statfsSync(dir);
    return stats.bavail * stats.bsize;
  };
  return {
    filesystem: {
      dir,
      available,
      fill(leaveBytes = 0) {
        const fd = openSync(filler, 'a');
        let written = 0;
        try {
          // Large writes first, then single blocks, until the kernel refuses or the target is met.
          for (const size of [1024 * 1024, 4096]) {
            const chunk = Buffer.alloc(size, 0xee);
            while (available() - size >= leaveBytes) {
              try {
                written += writeSync(fd, chunk);
              } catch (error) {
                if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
                break;
              }
            }
          }
        } finally {
          closeSync(fd);
        }
        return written;
      },
      free() {
        rmSync(filler, { force: true });
      },
      unmount() {
        const unmounted = spawnSync('umount', [dir], { timeout: 10_000 });
        if (unmounted.status !== 0) spawnSync('umount', ['-l', dir], { timeout: 10_000 });
        rmSync(dir, { recursive: true, force: true });
      },
    },
  };
}
