import { describe, expect, it, vi } from 'vitest';
import { DatabaseDownError } from '../common/errors/database-errors.js';
import { DatabaseAvailability } from './database-availability.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });

function setup() {
  let up = false;
  const lines: string[] = [];
  const availability = new DatabaseAvailability(
    async () => {
      if (!up) throw refused;
    },
    { warn: (m) => lines.push(`warn ${m}`), log: (m) => lines.push(`log ${m}`) },
    20,
  );
  return { availability, lines, setUp: (v: boolean) => (up = v) };
}

describe('DatabaseAvailability', () => {
  it('marks the database down after a failed probe, fails fast, and comes back by itself: one line each way', async () => {
    const { availability, lines, setUp } = setup();
    for (let i = 0; i < 50; i++) availability.report(refused);
    await vi.waitFor(() => expect(availability.available).toBe(false));
    expect(() => availability.assertAvailable()).toThrow(DatabaseDownError);
    await sleep(100);
    expect(availability.available).toBe(false);
    setUp(true);
    await vi.waitFor(() => expect(availability.available).toBe(true));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^warn database unreachable \(connect ECONNREFUSED/);
    expect(lines[1]).toMatch(/^log database reachable again after/);
    availability.close();
  });

  it('a single dropped connection with a healthy database changes nothing', async () => {
    const { availability, lines, setUp } = setup();
    setUp(true);
    availability.report(refused);
    await sleep(5);
    expect(availability.available).toBe(true);
    expect(lines).toEqual([]);
  });

  it('ignores errors that are not about reachability', async () => {
    const { availability } = setup();
    availability.report(Object.assign(new Error('duplicate key'), { code: '23505' }));
    await sleep(5);
    expect(availability.available).toBe(true);
  });
});
