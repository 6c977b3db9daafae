// Parses a list of shapes, prints them sorted by area, and reports the ones that fail.
// Build: g++ -std=c++17 -Wall -Werror main.cpp geometry.cpp -o shapes
#include <algorithm>
#include <iostream>

#include "geometry.hpp"

namespace {

std::vector<std::unique_ptr<geo::Shape>> load(const std::vector<std::string>& specs) {
    std::vector<std::unique_ptr<geo::Shape>> shapes;
    for (const auto& spec : specs) {
        try {
            shapes.push_back(geo::parse(spec));
        } catch (const std::exception& e) {
            std::cout << "skipped '" << spec << "': " << e.what() << "\n";
        }
    }
    return shapes;
}

}  // namespace

int main() {
    auto shapes = load({"circle 1", "rect 0 0 2 3", "hexagon 4", "circle -1", "rect 1 1 0 5"});
    auto by_area = [](const std::unique_ptr<geo::Shape>& a, const std::unique_ptr<geo::Shape>& b) {
        return a->area() < b->area();
    };
    std::sort(shapes.begin(), shapes.end(), by_area);
    for (const auto& s : shapes) std::cout << *s << "\n";
    std::vector<double> areas;
    std::transform(shapes.begin(), shapes.end(), std::back_inserter(areas),
                   [](const std::unique_ptr<geo::Shape>& s) { return s->area(); });
    std::cout << "total " << geo::stats::total(areas, [](double a) { return a; }) << "\n";
    geo::Rect empty({0, 0}, {0, 0});
    std::cout << "empty rect is " << (empty ? "non-empty" : "empty") << "\n";
    std::cout << "alive " << geo::Shape::alive << "\n";
    return 0;
}
