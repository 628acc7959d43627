/**
 * The toolbar's one-line notice: why an edit or a connection was refused. The host's
 * `message` (a run's outcome) replaces it as soon as one arrives.
 */
import { useEffect, useState } from 'react';

export interface Notice { text: string; kind: 'info' | 'refused' | 'error' }

export function useNotice(refused: string | undefined, message: string):
  [Notice | null, (n: Notice | null) => void] {
  const [notice, setNotice] = useState<Notice | null>(null);
  useEffect(() => {
    if (refused) setNotice({ text: refused, kind: 'refused' });
  }, [refused]);
  useEffect(() => {
    if (message) setNotice(null);
  }, [message]);
  return [notice, setNotice];
}
