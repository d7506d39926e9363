/** The browser bundle's entry: the SDK as the global `Tidings` (`new Tidings.Tidings({...})`). */

export * from "./index";
