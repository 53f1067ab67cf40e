// Anchors the storage library so it links even before it has other sources.
namespace conntrail::storage {
const char* module_name() noexcept { return "storage"; }
}  // namespace conntrail::storage
