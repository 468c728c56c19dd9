import SwiftParser
import SwiftSyntax

/// The normalized form of Swift source: its tokens, without trivia, one space apart.
///
/// Comments, doc comments and whitespace are trivia in swift-syntax, so any edit to them
/// (or to formatting) leaves the normalized form unchanged, while renaming an identifier,
/// changing an operator or a literal changes it. String literal contents are tokens and are
/// kept exactly. The `@Cached` attribute itself is left out: its `version:` enters the
/// identity separately, and its `tags:`/`cache:` are not part of what the function computes.
public enum SourceNormalizer {
    /// The normalized form of a syntax node.
    public static func normalize(_ node: some SyntaxProtocol) -> String {
        var skipped: [Range<AbsolutePosition>] = []
        for attribute in node.tokens(viewMode: .sourceAccurate).compactMap({ $0.parent?.as(AttributeSyntax.self) })
        where isCachedAttribute(attribute) {
            skipped.append(attribute.position..<attribute.endPosition)
        }
        var out = ""
        for token in node.tokens(viewMode: .sourceAccurate) {
            if skipped.contains(where: { $0.contains(token.positionAfterSkippingLeadingTrivia) }) { continue }
            if case .endOfFile = token.tokenKind { continue }
            if !out.isEmpty { out += " " }
            out += token.text
        }
        return out
    }

    /// Parses `source` and normalizes the whole file.
    public static func normalize(source: String) -> String {
        normalize(Parser.parse(source: source))
    }

    /// SHA-256 (hex) of the normalized form.
    public static func hash(_ node: some SyntaxProtocol) -> String {
        SHA256.hex(normalize(node))
    }

    /// Whether an attribute is `@Cached` (or `@Cashet.Cached`).
    public static func isCachedAttribute(_ attribute: AttributeSyntax) -> Bool {
        let name = attribute.attributeName.trimmedDescription
        return name == "Cached" || name == "Cashet.Cached"
    }
}
