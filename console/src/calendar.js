/**
 * Working time on the city's calendar (docs/lifecycle.md, "Deadlines on the working
 * calendar"): Asia/Shanghai (+08:00, no daylight saving), the year's `work_hours`
 * windows on working days (Monday to Friday, minus `holidays`, plus `extra_workdays`).
 */
import { api } from './api.js';

const SHANGHAI_MS = 8 * 3600 * 1000;
const DAY_MS = 86400 * 1000;
const cache = new Map();

/** The calendar of `year` (`GET /v1/calendar/{year}`), or null when not loaded. */
export async function loadCalendar(year) {
  if (!cache.has(year)) cache.set(year, api(`/v1/calendar/${year}`).catch(() => null));
  return cache.get(year);
}

/** Whether the Shanghai date `ymd` (`2026-11-30`) is a working day on `cal`. */
function workingDay(ymd, weekday, cal) {
  if (cal.extra_workdays?.includes(ymd)) return true;
  if (cal.holidays?.includes(ymd)) return false;
  return weekday >= 1 && weekday <= 5;
}

/** Minutes of `[h:m, h:m]` windows as offsets in ms from local midnight. */
function windows(cal) {
  const ms = (hm) => {
    const [hh, mm] = hm.split(':').map(Number);
    return (hh * 60 + mm) * 60000;
  };
  return (cal.work_hours || []).map(([a, b]) => [ms(a), ms(b)]);
}

/**
 * Working milliseconds from `from` to `to` (Dates) on `calendars` (by year); negative
 * when `to` is before `from`. Null when a year's calendar is missing.
 */
export function workingMsBetween(from, to, calendars) {
  if (to < from) {
    const back = workingMsBetween(to, from, calendars);
    return back === null ? null : -back;
  }
  let total = 0;
  const start = from.getTime() + SHANGHAI_MS;
  const end = to.getTime() + SHANGHAI_MS;
  for (let day = Math.floor(start / DAY_MS) * DAY_MS; day < end && day - start < 400 * DAY_MS; day += DAY_MS) {
    const date = new Date(day);
    const ymd = date.toISOString().slice(0, 10);
    const cal = calendars.get(date.getUTCFullYear());
    if (!cal) return null;
    if (!workingDay(ymd, date.getUTCDay(), cal)) continue;
    for (const [a, b] of windows(cal)) {
      const lo = Math.max(start, day + a);
      const hi = Math.min(end, day + b);
      if (hi > lo) total += hi - lo;
    }
  }
  return total;
}

/** Working time left until `due` (an RFC 3339 string), in ms; null when unknown. */
export async function workingTimeLeft(due, now = new Date()) {
  const to = new Date(due);
  const years = new Set([now.getUTCFullYear(), to.getUTCFullYear()]);
  const calendars = new Map();
  for (const y of years) {
    const cal = await loadCalendar(y);
    if (cal) calendars.set(y, cal);
  }
  return workingMsBetween(now, to, calendars);
}
