// The Node policy (README, "Requirements"): Node 22 or 24 LTS recommended, Node 20 still supported
// (it is past its end of life; CI and the default machine run it) until the locked AWS SDK moves past
// the versions that run on it. The SDK's own notice about that ("versions published after January
// 2027 will require node >=22", 8 lines) is addressed to whoever picks the SDK version, i.e. this
// project's lockfile, not to a user training a model, who cannot act on it. So the runtime's own
// processes and the worker functions run with it off, through the SDK's documented switch.
export const QUIET_SDK_ENV: Readonly<Record<string, string>> = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
