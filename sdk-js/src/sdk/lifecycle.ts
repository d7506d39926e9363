/**
 * Sessions follow the app's visibility: `visibilitychange`, `pagehide` and `pageshow` in a
 * browser, `AppState` in React Native. A hidden page is a backgrounded app; a page that comes
 * back within the session timeout resumes its session.
 */

export interface LifecycleTarget {
  foreground(): void;
  background(): void;
  /** The page is going away (or may be): upload now, with `keepalive`. */
  pageHidden(): void;
}

/** React Native's `AppState` (the part the SDK uses). */
export interface AppStateLike {
  currentState?: string | null;
  addEventListener(type: "change", listener: (state: string) => void): { remove(): void } | void;
}

/** Bind to the browser page; returns the function that unbinds. */
export function bindBrowser(target: LifecycleTarget, doc: Document, win: Window): () => void {
  const onVisibility = (): void => {
    if (doc.visibilityState === "hidden") {
      target.background();
      target.pageHidden();
    } else target.foreground();
  };
  const onHide = (): void => {
    target.background();
    target.pageHidden();
  };
  const onShow = (event: Event): void => {
    if ((event as PageTransitionEvent).persisted && doc.visibilityState !== "hidden") target.foreground();
  };
  doc.addEventListener("visibilitychange", onVisibility);
  win.addEventListener("pagehide", onHide);
  win.addEventListener("pageshow", onShow);
  return () => {
    doc.removeEventListener("visibilitychange", onVisibility);
    win.removeEventListener("pagehide", onHide);
    win.removeEventListener("pageshow", onShow);
  };
}

/** Bind to React Native's `AppState`: `active` is the foreground, anything else is not. */
export function bindAppState(target: LifecycleTarget, appState: AppStateLike): () => void {
  const sub = appState.addEventListener("change", (state) => {
    if (state === "active") target.foreground();
    else {
      target.background();
      target.pageHidden();
    }
  });
  return () => {
    if (sub && typeof sub.remove === "function") sub.remove();
  };
}
