// swift-tools-version:5.7
import PackageDescription

let package = Package(
    name: "telemetry-demo",
    targets: [.executableTarget(name: "Demo", path: "Sources/Demo")]
)
