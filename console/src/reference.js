/**
 * Reference data read once per session: the catalogue of matters (names of categories)
 * and the departments (for 交办 to a department).
 */
import { api } from './api.js';
import { currentLang } from './i18n.js';

let categories = null;
let departments = null;

/** The catalogue: `Map(code → {code, name, name_en, …})`. */
export async function loadCategories() {
  if (!categories) {
    const doc = await api('/v1/categories').catch(() => ({ categories: [] }));
    categories = new Map((doc.categories || []).map((c) => [c.code, c]));
  }
  return categories;
}

/** A category's name in the current language (its code when unknown). */
export function categoryName(code) {
  const c = categories?.get(code);
  if (!c) return code || '';
  return `${code} ${currentLang() === 'en' ? c.name_en || c.name : c.name}`;
}

/** The catalogue's categories in code order (empty before `loadCategories()` answered). */
export function categoryList() {
  return [...(categories?.values() || [])].sort((a, b) => a.code.localeCompare(b.code));
}

/** The departments (first page of up to 500). */
export async function loadDepartments() {
  if (!departments) departments = (await api('/v1/departments?limit=500').catch(() => ({ items: [] }))).items || [];
  return departments;
}
