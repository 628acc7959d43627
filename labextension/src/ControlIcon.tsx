/** A control skill's icon (SVG, in the control colour; see `controlIcon` in ./control). */
import React from 'react';

import { controlIcon } from './control';

export function ControlIcon({ skill, className = 'llmos-control-icon' }: { skill: string; className?: string }) {
  return (
    <svg className={className} data-control-icon={skill} width="14" height="14" viewBox="0 0 16 16"
      aria-hidden="true" focusable="false">
      <path d={controlIcon(skill)} fill="none" stroke="currentColor" strokeWidth="1.6"
        strokeLinecap="round" strokeLinejoin="round" />
    </svg>
  );
}
