import Foundation

#if canImport(FoundationXML)
  import FoundationXML
#endif

/// An element of a parsed S3 XML response: its name, text and child elements.
///
/// S3 responses are small, namespace-qualified documents without mixed content, so a tree of
/// local names is enough.
final class S3XMLElement {
  let name: String
  var text = ""
  var children: [S3XMLElement] = []

  init(name: String) { self.name = name }

  /// Returns the first child element named `name`.
  func child(_ name: String) -> S3XMLElement? { children.first { $0.name == name } }

  /// Returns every child element named `name`, in document order.
  func children(_ name: String) -> [S3XMLElement] { children.filter { $0.name == name } }

  /// Returns the text of the first child element named `name`.
  func text(of name: String) -> String? { child(name)?.text }

  /// Parses `bytes` and returns the root element, or nil when they are not well-formed XML.
  static func parse(_ bytes: [UInt8]) -> S3XMLElement? {
    let parser = XMLParser(data: Data(bytes))
    let builder = TreeBuilder()
    parser.delegate = builder
    guard parser.parse(), let root = builder.root else { return nil }
    return root
  }

  private final class TreeBuilder: NSObject, XMLParserDelegate {
    var root: S3XMLElement?
    private var stack: [S3XMLElement] = []

    func parser(
      _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
      qualifiedName: String?, attributes: [String: String] = [:]
    ) {
      let localName = elementName.split(separator: ":").last.map(String.init) ?? elementName
      let element = S3XMLElement(name: localName)
      if let parent = stack.last {
        parent.children.append(element)
      } else {
        root = element
      }
      stack.append(element)
    }

    func parser(
      _ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?,
      qualifiedName: String?
    ) {
      _ = stack.popLast()
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
      stack.last?.text += string
    }
  }
}

/// Escapes text for an XML element's content.
func xmlEscape(_ text: String) -> String {
  var out = ""
  out.reserveCapacity(text.utf8.count)
  for character in text {
    switch character {
    case "&": out += "&amp;"
    case "<": out += "&lt;"
    case ">": out += "&gt;"
    case "\"": out += "&quot;"
    case "'": out += "&apos;"
    default: out.append(character)
    }
  }
  return out
}
