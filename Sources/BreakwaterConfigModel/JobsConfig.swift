/// A `jobs NAME` section (filled in by its issue's parser).
public struct JobsConfig: Sendable, Equatable {
    public var name: String
    public var location: SourceLocation

    public init(name: String, location: SourceLocation) {
        self.name = name
        self.location = location
    }
}
