import { describe, expect, it } from 'vitest';
import { resolveCgroupPath } from './cgroup-path.js';
import { findCgroup2Root } from './cgroup-root.js';

describe('resolveCgroupPath', () => {
  it.each([
    {
      path: 'kubepods/burstable/pod1234',
      root: '/sys/fs/cgroup',
      want: '/sys/fs/cgroup/kubepods/burstable/pod1234',
    },
    {
      path: '/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod12_34.slice',
      root: '/sys/fs/cgroup',
      want: '/sys/fs/cgroup/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod12_34.slice',
    },
    {
      path: '/sys/fs/cgroup/unified/x/p1',
      root: '/sys/fs/cgroup/unified',
      want: '/sys/fs/cgroup/unified/x/p1',
    },
    { path: 'x//p1/', root: '/sys/fs/cgroup/unified', want: '/sys/fs/cgroup/unified/x/p1' },
  ])('$path under $root', ({ path, root, want }) => {
    expect(resolveCgroupPath(path, root)).toBe(want);
  });

  it('refuses paths that climb out of the cgroup root', () => {
    expect(() => resolveCgroupPath('../../etc', '/sys/fs/cgroup')).toThrow(/escapes/);
    expect(() => resolveCgroupPath('a/../../b', '/sys/fs/cgroup')).toThrow(/escapes/);
  });
});

describe('findCgroup2Root', () => {
  it('finds the cgroup2 mount on hybrid and unified hosts', () => {
    const hybrid = [
      '25 24 0:22 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755',
      '26 25 0:23 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw',
      '27 25 0:24 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu',
    ].join('\n');
    expect(findCgroup2Root(hybrid)).toBe('/sys/fs/cgroup/unified');
    expect(findCgroup2Root('30 1 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw')).toBe(
      '/sys/fs/cgroup',
    );
  });
  it('says so when there is none', () => {
    expect(() => findCgroup2Root('25 24 0:22 / /sys/fs/cgroup ro - tmpfs tmpfs ro')).toThrow(/not mounted/);
  });
});
