/// The product version reported by `--version` and `show info`.
public enum BreakwaterVersion {
    public static let string = "0.1.0"
    public static let releaseDate = "2026/11/22"
}
