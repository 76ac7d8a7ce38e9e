import Foundation
import Lifeboat

exit(CommandLineTool.run(arguments: Array(CommandLine.arguments.dropFirst())))
