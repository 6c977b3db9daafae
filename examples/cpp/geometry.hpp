// geometry.hpp: shapes in a namespace, with methods defined in and out of their classes.
#pragma once

#include <memory>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

namespace geo {

struct Point {
    double x = 0, y = 0;
    Point operator+(const Point& o) const { return {x + o.x, y + o.y}; }
};

constexpr double square(double v) { return v * v; }  // compile-time: left alone

class Shape {
public:
    explicit Shape(std::string name) : name_(std::move(name)) { ++alive; }
    virtual ~Shape() { --alive; }
    virtual double area() const = 0;
    const std::string& name() const noexcept { return name_; }
    static int alive;

private:
    std::string name_;
};

class Circle : public Shape {
public:
    explicit Circle(double r);
    double area() const override;

private:
    double r_;
};

class Rect : public Shape {
public:
    Rect(Point a, Point b);
    double area() const override;
    explicit operator bool() const { return area() > 0; }

private:
    Point a_, b_;
};

std::unique_ptr<Shape> parse(const std::string& spec);
std::ostream& operator<<(std::ostream& out, const Shape& s);

namespace stats {
template <typename T, typename F>
T total(const std::vector<T>& items, F f) {
    T sum{};
    for (const auto& item : items) sum += f(item);
    return sum;
}
}  // namespace stats

}  // namespace geo
