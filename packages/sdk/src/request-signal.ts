import { type ConfigurationOptions, Observable, type ObservableMiddleware } from "@kubernetes/client-node";

/**
 * Request options that cancel a client-node API call when `signal` aborts: client-node takes a
 * signal only through a middleware that sets it on the request context. Pass them as the call's
 * second argument.
 */
export function withSignal(signal: AbortSignal): ConfigurationOptions<ObservableMiddleware> {
  return {
    middleware: [
      {
        pre: (context) => {
          context.setSignal(signal);
          return new Observable(Promise.resolve(context));
        },
        post: (response) => new Observable(Promise.resolve(response)),
      },
    ],
    // Keep the configured middleware (authentication among it) and add ours.
    middlewareMergeStrategy: "append",
  };
}
