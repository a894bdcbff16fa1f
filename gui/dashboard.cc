#include "gui/dashboard.h"

#define GLFW_INCLUDE_NONE
#include <GL/gl.h>
#include <GLFW/glfw3.h>
#include <imgui.h>
#include <imgui_impl_glfw.h>
#include <imgui_impl_opengl3.h>
#include <png.h>

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <thread>
#include <vector>

#include "console/session.h"
#include "gui/console_view.h"

namespace steward::gui {
namespace {

std::atomic<bool> g_stop_requested{false};  // set by SIGINT/SIGTERM

void GlfwErrorCallback(int code, const char* description) {
  std::fprintf(stderr, "dashboard: GLFW error %d: %s\n", code, description);
}

void ApplyStyle(float scale) {
  ImGui::StyleColorsDark();
  ImGuiStyle& style = ImGui::GetStyle();
  style.WindowRounding = 4.0f;
  style.FrameRounding = 3.0f;
  style.ScaleAllSizes(scale);
  ImGuiIO& io = ImGui::GetIO();
  const char* font = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
  if (std::filesystem::exists(font)) {
    io.Fonts->AddFontFromFileTTF(font, 16.0f * scale);
  } else {
    io.FontGlobalScale = scale;  // fall back to the built-in font
  }
}

}  // namespace

Status WritePng(const std::string& path, int width, int height, const unsigned char* rgba) {
  std::FILE* fp = std::fopen(path.c_str(), "wb");
  if (!fp) return IoError(path + ": cannot open for writing; check the directory exists and is writable");
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!png || !info || setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    std::fclose(fp);
    return IoError(path + ": writing the PNG failed");
  }
  png_init_io(png, fp);
  png_set_IHDR(png, info, static_cast<png_uint_32>(width), static_cast<png_uint_32>(height), 8, PNG_COLOR_TYPE_RGBA,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int y = 0; y < height; ++y) {
    png_write_row(png, const_cast<png_bytep>(rgba + static_cast<size_t>(y) * static_cast<size_t>(width) * 4));
  }
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  if (std::fclose(fp) != 0) return IoError(path + ": closing the PNG failed");
  return Status::Ok();
}

namespace {

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)];
}

}  // namespace

std::string FrameStatsJson(std::vector<double> frame_ms, std::vector<double> refresh_ms) {
  // The first refresh loads everything once (the whole chain walk, every row into the aggregates);
  // the others are the incremental refreshes the contract bounds.
  const double initial = refresh_ms.empty() ? 0.0 : refresh_ms.front();
  if (!refresh_ms.empty()) refresh_ms.erase(refresh_ms.begin());
  char buf[320];
  std::snprintf(buf, sizeof buf,
                "{\"frames\": %zu, \"frame_ms_p50\": %.3f, \"frame_ms_p99\": %.3f, \"refresh_ms_p99\": %.3f, \"refreshes\": %zu, "
                "\"initial_load_ms\": %.3f}",
                frame_ms.size(), Percentile(frame_ms, 0.50), Percentile(frame_ms, 0.99), Percentile(refresh_ms, 0.99), refresh_ms.size(), initial);
  return buf;
}

Status RunDashboard(const DashboardOptions& options) {
  const bool remote = !options.url.empty();
  if (remote == !options.db_path.empty()) return InvalidArgument("give either --db PATH or --url URL --token T");
  if (remote && !options.role.empty()) return InvalidArgument("--role: over HTTP the role is the token's; drop --role");
  if (!remote && !std::filesystem::exists(options.db_path)) {
    return NotFound(options.db_path + ": no such database; create one with `steward demo --db " + options.db_path + "`");
  }
  if (!options.screenshot_path.empty() && options.frames < 1) return InvalidArgument("--frames must be at least 1");
  console::LocalSourceOptions source;
  source.db_path = options.db_path;
  source.known_models = options.known_models;
  if (!options.role.empty()) {
    auto role = console::ParseConsoleRole(options.role);
    if (!role.ok()) return InvalidArgument("--role: " + role.status().message());
    source.role = *role;
  }
  glfwSetErrorCallback(GlfwErrorCallback);
  if (!glfwInit()) {
    return Unavailable("cannot open a display for the dashboard; set DISPLAY, or run it under `xvfb-run -a`");
  }
  glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, 3);
  glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 0);
  const bool screenshot = !options.screenshot_path.empty();
  const bool bounded = screenshot || options.frame_stats;  // runs a fixed number of frames
  std::string title = "Steward console — " + (remote ? options.url : options.db_path);
  if (!options.role.empty()) title += " — " + options.role;
  if (!options.subtitle.empty()) title += " — " + options.subtitle;
  GLFWwindow* window = glfwCreateWindow(options.width, options.height, title.c_str(), nullptr, nullptr);
  if (!window) {
    glfwTerminate();
    return Unavailable("cannot create an OpenGL 3.0 window; run under `xvfb-run -a` or check the GL drivers");
  }
  glfwMakeContextCurrent(window);
  glfwSwapInterval(options.frame_stats ? 0 : 1);

  IMGUI_CHECKVERSION();
  ImGui::CreateContext();
  ImGui::GetIO().IniFilename = nullptr;
  float xscale = 1.0f, yscale = 1.0f;
  glfwGetWindowContentScale(window, &xscale, &yscale);
  ApplyStyle(xscale > 0.0f ? xscale : 1.0f);
  ImGui_ImplGlfw_InitForOpenGL(window, true);
  ImGui_ImplOpenGL3_Init("#version 130");

  // The window sleeps until input arrives or the session publishes new data or a finished task (it
  // posts an empty event), so an idle database costs no frames.
  std::unique_ptr<console::DataSource> data;
  if (remote) {
    console::HttpSourceOptions http;
    http.url = options.url;
    http.token = options.token;
    data = console::MakeHttpSource(http);
  } else {
    data = console::MakeLocalSource(source);
  }
  auto session = std::make_unique<console::Session>(std::move(data), options.refresh_ms, [] { glfwPostEmptyEvent(); });
  if (bounded) session->WaitFirstRefresh();
  ConsoleView view(*session);

  Status result = Status::Ok();
  int frame = 0;
  std::vector<double> frame_ms, ui_ms;
  // SIGINT and SIGTERM close the window cleanly (the event wait wakes within a second).
  g_stop_requested.store(false);
  struct sigaction on_stop {};
  on_stop.sa_handler = [](int) { g_stop_requested.store(true); };
  sigemptyset(&on_stop.sa_mask);
  struct sigaction old_int {}, old_term {};
  sigaction(SIGINT, &on_stop, &old_int);
  sigaction(SIGTERM, &on_stop, &old_term);
  while (!glfwWindowShouldClose(window)) {
    if (options.closed && options.closed->load()) break;
    if (g_stop_requested.load()) break;
    if (bounded) {
      glfwPollEvents();
    } else {
      // Sleep until input or new data arrives; wake at least once a second for a close request
      // (the window's, a signal's, or the demo's).
      glfwWaitEventsTimeout(1.0);
    }
    // A screenshot shows the finished audit and sample: wait for the worker before the last frames.
    if (screenshot && frame == std::max(0, options.frames - 3)) session->WaitIdle();
    const auto frame_start = std::chrono::steady_clock::now();
    ImGui_ImplOpenGL3_NewFrame();
    ImGui_ImplGlfw_NewFrame();
    ImGui::NewFrame();
    const ImVec2 display = ImGui::GetIO().DisplaySize;
    view.Draw(display.x, display.y);
    ImGui::Render();
    ui_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - frame_start).count());
    int fb_w = 0, fb_h = 0;
    glfwGetFramebufferSize(window, &fb_w, &fb_h);
    glViewport(0, 0, fb_w, fb_h);
    glClearColor(0.08f, 0.08f, 0.10f, 1.0f);
    glClear(GL_COLOR_BUFFER_BIT);
    ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
    glFinish();
    frame_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - frame_start).count());
    ++frame;
    if (screenshot && frame >= options.frames) {
      std::vector<unsigned char> pixels(static_cast<size_t>(fb_w) * static_cast<size_t>(fb_h) * 4);
      glPixelStorei(GL_PACK_ALIGNMENT, 1);
      glReadBuffer(GL_BACK);
      glReadPixels(0, 0, fb_w, fb_h, GL_RGBA, GL_UNSIGNED_BYTE, pixels.data());
      // OpenGL rows run bottom to top; PNG rows top to bottom.
      std::vector<unsigned char> flipped(pixels.size());
      const size_t row = static_cast<size_t>(fb_w) * 4;
      for (int y = 0; y < fb_h; ++y) {
        std::copy_n(pixels.data() + static_cast<size_t>(fb_h - 1 - y) * row, row, flipped.data() + static_cast<size_t>(y) * row);
      }
      result = WritePng(options.screenshot_path, fb_w, fb_h, flipped.data());
      break;
    }
    glfwSwapBuffers(window);
    if (options.frame_stats && !screenshot) {
      if (frame >= options.frames) break;
      // Paced at 60 frames a second, as a window with vsync would be, so the run spans many refreshes.
      std::this_thread::sleep_until(frame_start + std::chrono::microseconds(16667));
    }
  }
  if (options.closed) options.closed->store(true);
  if (options.frame_stats) {
    std::string line = FrameStatsJson(frame_ms, session->refresh_durations());
    // The UI thread's own share (building the frame, before OpenGL draws it), for telling a slow
    // view from a slow rasteriser (xvfb renders in software).
    char ui[96];
    std::snprintf(ui, sizeof ui, ", \"ui_ms_p50\": %.3f, \"ui_ms_p99\": %.3f}", Percentile(ui_ms, 0.5), Percentile(ui_ms, 0.99));
    line.pop_back();
    std::printf("%s%s\n", line.c_str(), ui);
  }

  session.reset();  // stopped before GLFW goes away (it posts events)
  ImGui_ImplOpenGL3_Shutdown();
  ImGui_ImplGlfw_Shutdown();
  ImGui::DestroyContext();
  glfwDestroyWindow(window);
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  glfwTerminate();
  return result;
}

}  // namespace steward::gui
