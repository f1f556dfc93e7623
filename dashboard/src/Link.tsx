/**
 * The one link for in-app navigation. A plain left click routes inside the app (no reload);
 * anything else is left to the browser, so ctrl/cmd-click, shift-click and middle-click open a
 * new tab or window as on any web page, and "copy link" gives a real URL.
 */
import type { ComponentChildren, JSX } from 'preact';
import { navigate } from './router.js';

type AnchorProps = Omit<JSX.HTMLAttributes<HTMLAnchorElement>, 'href' | 'onClick'>;

export interface LinkProps extends AnchorProps {
  /** An app path, e.g. `/call/abc` (already URL-encoded). */
  to: string;
  children: ComponentChildren;
}

/** True for the click the app handles itself: primary button, no modifier key. */
export function isPlainClick(e: MouseEvent): boolean {
  return e.button === 0 && !e.ctrlKey && !e.metaKey && !e.shiftKey && !e.altKey && !e.defaultPrevented;
}

export function Link({ to, children, ...rest }: LinkProps) {
  return (
    <a
      {...rest}
      href={to}
      onClick={(e) => {
        if (!isPlainClick(e)) return;
        e.preventDefault();
        navigate(to);
      }}
    >
      {children}
    </a>
  );
}

/** The path of a call's page. */
export const callPath = (id: string): string => `/call/${encodeURIComponent(id)}`;
