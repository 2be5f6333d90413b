/// Why a chat template could not be used or rendered.
public enum TemplateError: Error, Equatable, CustomStringConvertible {
    /// The template is not valid Jinja, or uses something this interpreter does not support.
    case syntax(String)
    /// Rendering went wrong: an unknown filter, a type mismatch.
    case evaluation(String)
    /// The template itself refused the conversation (`raise_exception`), e.g. roles that do not
    /// alternate: the caller's fault, not the server's.
    case raised(String)

    public var description: String {
        switch self {
        case .syntax(let message): "chat template syntax: \(message)"
        case .evaluation(let message): "chat template: \(message)"
        case .raised(let message): message
        }
    }
}
