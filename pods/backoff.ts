/**
 * The kubelet's restart back-off (pkg/kubelet/kuberuntime doBackOff over client-go's flowcontrol.Backoff,
 * 10 s doubling to 300 s): the first restart after an exit is immediate; an exit while a back-off entry
 * is fresh waits out the entry's delay from the exit, then doubles it. An entry untouched for twice the
 * maximum is forgotten, so a container that ran well for ten minutes starts over at 10 s. The one
 * implementation is lib/backoff.ts's `Backoff.waitFor`; its defaults are the kubelet's.
 */
export { Backoff, type BackoffOptions } from "../lib/backoff.ts";
