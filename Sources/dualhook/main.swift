import Foundation

// Signals are taken by one thread of ours (see Signals), so block them before any thread starts.
Signals.blockTermination()

exit(Commands.main(CommandLine.arguments))
