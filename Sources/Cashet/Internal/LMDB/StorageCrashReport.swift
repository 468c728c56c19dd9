import CCashetSystem

/// For command-line tools over a store: a damaged `data.mdb` can make LMDB fault (SIGBUS,
/// SIGSEGV) or fail an assertion (SIGABRT) while reading its mapped file, which no Swift code can
/// catch. Once installed, such a signal raised while a storage transaction is open prints a
/// report and exits with `status` (the CLI's "damaged" code) instead of dying by the signal; a
/// signal anywhere else keeps its default action. A library never installs this: signal
/// handling belongs to the program.
package enum StorageCrashReport {
    package static func install(status: Int32) {
        cashet_install_storage_crash_report(
            "error: the store's data.mdb is damaged: reading it made LMDB crash. `cashet fsck --repair --rebuild` (with no other program using the store) rebuilds it from every record still readable\n",
            status)
    }
}
