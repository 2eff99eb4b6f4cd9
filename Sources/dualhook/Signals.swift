import Foundation

/// SIGTERM and SIGINT delivered to one thread of ours through `sigwait`, never to an arbitrary
/// thread in the middle of a libpq call. The first signal asks for a graceful stop; a second
/// one exits at once.
enum Signals {
    /// Blocks the signals in the calling thread; threads started afterwards inherit the mask.
    /// Call first thing, before any thread is created.
    static func blockTermination() {
        // A shell starts background children with SIGINT ignored, and an ignored signal is
        // discarded rather than queued for sigwait: take the default disposition back first.
        signal(SIGTERM, SIG_DFL)
        signal(SIGINT, SIG_DFL)
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGINT)
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    static func onTermination(_ handler: @escaping @Sendable (Int32) -> Void) {
        let thread = Thread {
            var set = sigset_t()
            sigemptyset(&set)
            sigaddset(&set, SIGTERM)
            sigaddset(&set, SIGINT)
            var count = 0
            while true {
                var signal: Int32 = 0
                guard sigwait(&set, &signal) == 0 else { continue }
                count += 1
                if count > 1 { exit(130) }
                handler(signal)
            }
        }
        thread.name = "dh-signals"
        thread.start()
    }
}
