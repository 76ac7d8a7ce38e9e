public enum CommandLineTool {
  public static func run(arguments: [String]) -> Int32 { 0 }
}
