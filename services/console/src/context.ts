import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Api, ApiShape } from './api.js';
import type { View } from './view.js';

export interface Ctx {
  api: Api;
  shape: ApiShape;
  view: View;
  /** the view's range resolved once per navigation, so every query of a page asks the same times */
  range: { from: number; to: number };
  setView(v: View): void;
}
export const AppContext = createContext<Ctx | null>(null);
export function useApp(): Ctx {
  const c = useContext(AppContext);
  if (c === null) throw new Error('useApp outside the app');
  return c;
}
