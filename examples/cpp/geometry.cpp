// geometry.cpp: out-of-class definitions, a parser that throws, an output operator.
#include "geometry.hpp"

#include <cmath>
#include <sstream>

namespace geo {

int Shape::alive = 0;

Circle::Circle(double r)
    : Shape("circle"), r_(r) {
    if (r < 0) throw std::invalid_argument("negative radius");
}

double Circle::area() const { return 3.14159 * square(r_); }

}  // namespace geo

geo::Rect::Rect(Point a, Point b) : Shape("rect"), a_(a), b_(b) {}

double geo::Rect::area() const
{
    return std::fabs((b_.x - a_.x) * (b_.y - a_.y));
}

std::unique_ptr<geo::Shape> geo::parse(const std::string& spec) {
    std::istringstream in(spec);
    std::string kind;
    in >> kind;
    if (kind == "circle") {
        double r = 0;
        in >> r;
        return std::unique_ptr<Shape>(new Circle(r));
    }
    if (kind == "rect") {
        Point a, b;
        in >> a.x >> a.y >> b.x >> b.y;
        return std::unique_ptr<Shape>(new Rect(a, b + a));
    }
    throw std::runtime_error("unknown shape: " + kind);
}

std::ostream& geo::operator<<(std::ostream& out, const Shape& s) {
    return out << s.name() << " " << s.area();
}
