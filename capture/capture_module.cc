// Anchors the capture library so it links even before it has other sources.
namespace conntrail::capture {
const char* module_name() noexcept { return "capture"; }
}  // namespace conntrail::capture
