// The kubelet's pod cgroup names, computed: every (driver, QoS class, kubelet root) combination
// for one UID, the systemd escaping of '-', and nothing at all for a string that is not a UID.
import { describe, expect, it } from 'vitest';
import { isPodUid, podCgroupCandidates, podCgroupRelPath } from './pod-cgroup-layout.js';

const uid = '0f3a9c1e-7b2d-4e5f-9a8b-1c2d3e4f5a6b';
const u = '0f3a9c1e_7b2d_4e5f_9a8b_1c2d3e4f5a6b';

describe('podCgroupRelPath', () => {
  it.each([
    { driver: 'systemd', qos: 'Guaranteed', want: `kubepods.slice/kubepods-pod${u}.slice` },
    {
      driver: 'systemd',
      qos: 'Burstable',
      want: `kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${u}.slice`,
    },
    {
      driver: 'systemd',
      qos: 'BestEffort',
      want: `kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${u}.slice`,
    },
    { driver: 'cgroupfs', qos: 'Guaranteed', want: `kubepods/pod${uid}` },
    { driver: 'cgroupfs', qos: 'Burstable', want: `kubepods/burstable/pod${uid}` },
    { driver: 'cgroupfs', qos: 'BestEffort', want: `kubepods/besteffort/pod${uid}` },
  ] as const)('$driver $qos', ({ driver, qos, want }) => {
    expect(podCgroupRelPath(uid, qos, driver)).toBe(want);
  });

  it('nests under a kubelet --cgroup-root such as kind’s /kubelet', () => {
    expect(podCgroupRelPath(uid, 'BestEffort', 'systemd', ['kubelet'])).toBe(
      `kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod${u}.slice`,
    );
    expect(podCgroupRelPath(uid, 'Guaranteed', 'cgroupfs', ['kubelet'])).toBe(`kubelet/kubepods/pod${uid}`);
  });
});

describe('podCgroupCandidates', () => {
  it('one path when QoS class, driver and root are known; every combination when none is', () => {
    expect(podCgroupCandidates({ uid, qos: 'Burstable', driver: 'cgroupfs', root: [] })).toEqual([
      `kubepods/burstable/pod${uid}`,
    ]);
    expect(podCgroupCandidates({ uid, qos: 'Burstable', driver: 'systemd' })).toHaveLength(2);
    expect(podCgroupCandidates({ uid, driver: 'systemd', root: [] })).toHaveLength(3);
    const all = podCgroupCandidates({ uid });
    expect(all).toHaveLength(12);
    expect(new Set(all).size).toBe(12);
  });

  it('refuses anything that is not a UID (no path tricks)', () => {
    for (const bad of ['../../etc', '1b2c-3d', `${uid}/..`, `${uid}.scope`, '', 'pod'])
      expect(podCgroupCandidates({ uid: bad }), bad).toEqual([]);
  });
});

describe('isPodUid', () => {
  it('takes API UIDs and static pods’ 32-hex config hashes', () => {
    expect(isPodUid(uid)).toBe(true);
    expect(isPodUid('187bff14cccb94f179e943eacce55bb3')).toBe(true);
    expect(isPodUid('shop/cart')).toBe(false);
  });
});
