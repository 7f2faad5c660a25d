// The driver's child services (parameter server, local Lambda service and its invocations, embedded S3)
// run in their own process group on POSIX: a terminal's Ctrl-C (SIGINT to the whole foreground group)
// or a SIGTERM to the group reaches only the driver, which stops the run cleanly (model and summary
// saved) and then stops them. They still leave on their own when the driver's IPC channel closes (the
// driver was killed). Not on Windows, where `detached` would open a console window for each.

/** fork()'s `detached` for a child service. */
export const OWN_PROCESS_GROUP = process.platform !== 'win32';
